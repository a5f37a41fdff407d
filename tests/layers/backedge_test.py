#!/usr/bin/env python3
"""Proves the layer check bites: on a copy of src/, one deliberate back-edge (the pure
codec smtp/ including the spool) and one undeclared edge must each fail the check with
file:line, and the untouched copy must pass. Run by ctest (layers.backedge)."""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

layers, src, checker = sys.argv[1], Path(sys.argv[2]), sys.argv[3]


def run(tree):
    return subprocess.run([sys.executable, checker, layers, str(tree)], capture_output=True, text=True)


with tempfile.TemporaryDirectory() as tmp:
    tree = Path(tmp) / "src"
    shutil.copytree(src, tree)
    clean = run(tree)
    assert clean.returncode == 0, "the real tree must pass:\n" + clean.stderr
    reply = tree / "smtp" / "reply.hpp"
    reply.write_text(reply.read_text() + '\n#include "queue/spool.hpp"\n')
    bad = run(tree)
    assert bad.returncode == 1, "a back-edge from smtp/ to queue/ was not caught"
    assert "smtp/reply.hpp:" in bad.stderr and "back-edge" in bad.stderr, bad.stderr
    reply.write_text(reply.read_text().replace('#include "queue/spool.hpp"', ""))
    mime = tree / "mime" / "sniff.cpp"
    mime.write_text('#include "net/cidr.hpp"\n' + mime.read_text())
    bad = run(tree)
    assert bad.returncode == 1 and "mime/sniff.cpp:1: mime includes net/cidr.hpp" in bad.stderr, bad.stderr
print("layer check: clean tree passes, back-edge and undeclared edge fail")
