"""`rampart check`, `default-config` and `settings`."""
import re
import subprocess

import pytest

from conftest import REPO, RAMPART_BIN, Rampart


def run(*args, cwd=None):
    p = subprocess.run([RAMPART_BIN, *args], capture_output=True, timeout=30, cwd=cwd)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def test_check_good_config(tmp_path):
    # run_as_root = false: the test servers' run_as_root = true is an exposure check reports.
    r = Rampart(tmp_path / "good", smarthost_port=2599, limits={"max_message_size": "100KiB", "max_recipients": 5},
                server_keys={"run_as_root": False})
    rc, out, err = run("check", "-c", str(r.config_path))
    assert rc == 0, out + err
    assert "OK" in out + err


BAD = """\
[server]
hostname = "mx.test"
colour = "blue"
data_dir = "data"

[[domains]]
name = "example.test"

[[listeners]]
name = "default"
bind = ["127.0.0.1:2525"]
remote_ranges = ["10.0.0.0/33"]
limits = { max_message_size = "35XB" }

[bogus]
x = 1
"""


def test_check_bad_config_reports_every_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    rc, out, err = run("check", "-c", str(path))
    text = out + err
    assert rc == 2, text
    lines = BAD.splitlines()

    def lineno(fragment):
        return next(i + 1 for i, l in enumerate(lines) if fragment in l)

    expected = {
        lineno("colour"): "colour",
        lineno("10.0.0.0/33"): "remote_ranges",
        lineno("35XB"): "max_message_size",
        lineno("[bogus]"): "bogus",
    }
    for ln, key in expected.items():
        pat = re.compile(r"^(\S*/)?bad\.toml:%d: \S*%s\S*: .+" % (ln, re.escape(key)), re.M)
        assert pat.search(text), f"no 'bad.toml:{ln}: ...{key}...: problem' line in:\n{text}"
    assert re.search(r"\b4 errors\b", text), text


def test_check_missing_file(tmp_path):
    rc, out, err = run("check", "-c", str(tmp_path / "nope.toml"))
    assert rc == 2, out + err
    assert "nope.toml" in out + err


def test_default_config_passes_check(tmp_path):
    rc, out, err = run("default-config")
    assert rc == 0, err
    assert "[server]" in out and "[[listeners]]" in out
    path = tmp_path / "default.toml"
    path.write_text(out)
    rc, out2, err2 = run("check", "-c", str(path), cwd=tmp_path)
    assert rc == 0, out2 + err2


def test_version():
    rc, out, err = run("version")
    assert rc == 0
    assert re.match(r"rampart \d+\.\d+", out), out


def test_settings_match_documentation():
    doc = REPO / "docs" / "configuration.md"
    if not doc.exists():
        pytest.skip("docs/configuration.md does not exist")
    rc, out, err = run("settings")
    assert rc == 0, err
    text = doc.read_text()
    assert out.strip() in text, "the output of `rampart settings` is not reproduced verbatim in docs/configuration.md"


@pytest.mark.parametrize("deep", [
    "x" + ".x" * 50000 + " = 1\n",                 # dotted keys
    "[" + "a." * 50000 + "a]\n",                   # a table header
    "x = " + "[" * 50000 + "]" * 50000 + "\n",     # arrays (toml++ bounds these itself)
], ids=["dotted-keys", "table-header", "arrays"])
def test_check_refuses_deep_nesting_without_crashing(tmp_path, deep):
    # 50,000 levels used to overflow the stack inside the TOML library: exit 139, no message.
    path = tmp_path / "deep.toml"
    path.write_text('[server]\nhostname = "mx.test"\n\n' + deep)
    for cmd in ("check", "serve"):
        rc, out, err = run(cmd, "-c", str(path))
        assert rc == 2, (cmd, rc, out + err)
        assert re.search(r"deep\.toml:4: nested more than 64 levels deep", err), err


def test_overlong_hostname_is_a_config_error(tmp_path):
    # ~4,000 characters used to pass `check` and abort the server at its first connection
    # (the greeting's reply text outgrew what a reply may carry).
    r = Rampart(tmp_path / "long", hostname="a" * 4000, smarthost_port=2599)
    for cmd in ("check", "serve"):
        rc, out, err = run(cmd, "-c", str(r.config_path))
        assert rc == 2, (cmd, rc, out + err)
        assert re.search(r"rampart\.toml:\d+: server\.hostname: 4000 characters, longer than 253", err), err
