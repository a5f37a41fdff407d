"""The man pages rampart(8) and rampart.toml(5): generated from the program (the settings
table and the subcommands), formatted by groff and man without a warning, naming every
setting and subcommand, and the build's copies equal to what the binary prints."""
import re
import subprocess
from pathlib import Path

from conftest import RAMPART_BIN


def rampart(*args):
    p = subprocess.run([RAMPART_BIN, *args], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def formatted(page):
    """groff (all warnings) and man -l over `page`: stderr must be empty."""
    g = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)], capture_output=True, text=True, timeout=60)
    assert g.returncode == 0 and g.stderr == "", g.stderr
    m = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True, text=True, timeout=60,
                       env={"MANWIDTH": "100", "LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin", "MAN_KEEP_FORMATTING": ""})
    assert m.returncode == 0 and m.stderr == "", m.stderr
    return m.stdout


def roff_name(key):
    return key.replace("\\", "\\e").replace("-", "\\-")


def test_man_pages_format_cleanly_and_name_every_setting(tmp_path):
    rampart("settings", "--man-dir", str(tmp_path))
    toml_page = tmp_path / "man5" / "rampart.toml.5"
    cmd_page = tmp_path / "man8" / "rampart.8"
    text = formatted(toml_page)
    assert "rampart.toml - configuration file" in text
    formatted(cmd_page)

    roff = toml_page.read_text()
    sections = re.split(r"^\.SS ", roff, flags=re.M)[1:]
    by_section = {s.split("\n", 1)[0].strip('"'): s for s in sections}
    reference = rampart("settings")
    section = None
    count = 0
    for line in reference.splitlines():
        if line.startswith("### "):
            section = line[4:].strip("`")
            assert section in by_section, f"section {section} missing from rampart.toml(5)"
        elif line.startswith("| `"):
            key = line.split("|")[1].strip().strip("`")
            assert f"\n.B {roff_name(key)}\n" in by_section[section], f"{section} {key} missing from rampart.toml(5)"
            count += 1
    assert count > 100   # the whole table, not a part

    roff8 = cmd_page.read_text()
    helptext = rampart("--help")
    commands = re.findall(r"^  ([a-z][a-z-]+)\s", helptext.split("Subcommands:")[-1], flags=re.M)
    assert "serve" in commands and "settings" in commands
    for c in commands:
        assert f"\n.B rampart {roff_name(c)}\n" in roff8, f"subcommand {c} missing from rampart(8)"
    for sig in ("SIGHUP", "SIGUSR1", "SIGTERM"):
        assert sig in roff8


def test_build_writes_the_same_pages():
    """build/man (written after every link of rampart) equals what the binary prints."""
    man_dir = Path(RAMPART_BIN).resolve().parent / "man"
    assert (man_dir / "man8" / "rampart.8").read_text() == rampart("settings", "--man", "8")
    assert (man_dir / "man5" / "rampart.toml.5").read_text() == rampart("settings", "--man", "5")
