"""The web console's listener pages (docs/console.md "Listeners"): a listener's access
settings beside the role preset with `rampart check`'s warnings, and edits that go through
the loader, are written in place and take effect by reload without dropping sessions.
Real binary, real HTTP (console_client.py) and real SMTP (smtplib)."""
import difflib
import html
import re
import smtplib
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, wait_for
from console_client import ADMIN_PASSWORD, ADMIN_USER, ConsoleClient, add_console_users

HASH = re.compile(r'name="hash" value="([0-9a-f]+)"')
COMMENT = "# rampart.toml for the console tests: this comment must survive every edit\n"


def start(rampart_factory, **kw):
    """rampart with a hand-commented configuration file and the console's directory;
    returns (srv, signed-in ConsoleClient)."""
    srv = rampart_factory(start=False, **kw)
    text = COMMENT + srv.config_text().replace("[queue]\n", "# the queue, as the tests want it\n[queue]\n", 1)
    srv.config_path.write_text(text)
    add_console_users(srv)
    srv.start()
    client = ConsoleClient(f"http://127.0.0.1:{srv.admin_port}")
    status, _, _ = client.login(ADMIN_USER, ADMIN_PASSWORD)
    assert status == 303
    return srv, client


def form_hash(page):
    m = HASH.search(page)
    assert m, page
    return m.group(1)


def check_lines(srv, setting):
    """The two lines `rampart check` prints for `setting`'s finding."""
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(srv.config_path)], capture_output=True, text=True, timeout=30)
    lines = r.stdout.splitlines()
    for i, line in enumerate(lines):
        if f" {setting} = " in line:
            return line + "\n" + lines[i + 1] + "\n"
    raise AssertionError(r.stdout)


def changed_lines(before, after):
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return [d for d in diff if d.startswith("- ")], [d for d in diff if d.startswith("+ ")]


def test_listener_page_shows_settings_presets_and_checks_warning(rampart_factory):
    srv, c = start(rampart_factory, listener_keys={"auth": {"basic": True, "basic_requires_tls": False}})
    status, page = c.get("/console/listeners")
    assert status == 200
    assert 'href="/console/listener?name=default"' in page
    status, page = c.get("/console/listener?name=default")
    assert status == 200, page
    text = html.unescape(page)
    for section in ("Authentication", "Connection control", "Relay restrictions", "Permissions"):
        assert section in text
    # Value and preset side by side, and check's exposure text, the same words as the CLI.
    row = re.search(r"<code>auth\.basic_requires_tls</code></td><td><code>(\w+)</code></td><td class=\"preset\"><code>(\w+)</code>", page)
    assert row and row.groups() == ("false", "true"), page
    assert check_lines(srv, "auth.basic_requires_tls") in text
    assert "EXPOSURE" in check_lines(srv, "auth.basic_requires_tls")
    # A setting that follows the preset has no warning.
    assert "auth.integrated = " not in text
    status, page = c.get("/console/listener?name=nosuch")
    assert status == 404


def test_open_relay_edit_is_refused_with_the_loaders_reason_and_the_file_unchanged(rampart_factory):
    srv, c = start(rampart_factory)
    before = srv.config_path.read_bytes()
    _, page = c.get("/console/listener?name=default")
    status, page, _ = c.post("/console/listener", {"name": "default", "section": "relay", "hash": form_hash(page),
                                                   "relay_mode": "all-except-list", "relay_list": ""})
    assert status == 400, page
    text = html.unescape(page)
    assert f"{srv.config_path}:" in text and "this relay setting makes an open relay" in text, text
    assert srv.config_path.read_bytes() == before
    assert not srv.log_events("console.change")


def test_good_edit_changes_one_line_and_applies_without_dropping_sessions(rampart_factory):
    srv, c = start(rampart_factory)
    before = srv.config_path.read_text()
    # A session opened before the edit, from 127.0.0.1 (admitted now).
    old = smtplib.SMTP("127.0.0.1", srv.port, timeout=30)
    assert old.ehlo()[0] == 250
    _, page = c.get("/console/listener?name=default")
    status, page, _ = c.post("/console/listener", {"name": "default", "section": "connection", "hash": form_hash(page),
                                                   "remote_ranges": "192.0.2.0/24\n"})
    assert status == 200, page
    assert "Applied" in page
    after = srv.config_path.read_text()
    removed, added = changed_lines(before, after)
    assert removed == ['- remote_ranges = ["0.0.0.0/0", "::/0"]'], (removed, added)
    assert added == ['+ remote_ranges = ["192.0.2.0/24"]'], (removed, added)
    assert after.startswith(COMMENT) and "# the queue, as the tests want it\n[queue]" in after
    wait_for(lambda: srv.log_events("config.reloaded"), what="config.reloaded")
    # A new session is refused by the new connection control...
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP("127.0.0.1", srv.port, timeout=30)
    assert refused.value.smtp_code == 554
    # ...while the one opened before still finishes its message.
    old.mail("sender@example.org")
    assert old.rcpt(f"{ADMIN_USER}@{DOMAIN}")[0] == 250
    code, reply = old.data(b"Subject: before the edit\r\n\r\nstill here\r\n")
    assert code == 250, reply
    old.quit()
    # The page shows the new value; the change is logged with who made it.
    _, page = c.get("/console/listener?name=default")
    assert "192.0.2.0/24" in page
    events = [e for e in srv.log_events("console.change") if e.get("what") == "listener default: remote_ranges"]
    assert events and events[0]["user"] == ADMIN_USER, srv.log_events("console.change")
    assert "192.0.2.0/24" in events[0]["detail"]


def test_inline_table_edit_keeps_the_table_inline(rampart_factory):
    srv, c = start(rampart_factory)
    before = srv.config_path.read_text()
    _, page = c.get("/console/listener?name=default")
    status, page, _ = c.post("/console/listener", {"name": "default", "section": "relay", "hash": form_hash(page),
                                                   "relay_mode": "only-list", "relay_list": "127.0.0.5/32",
                                                   "relay_allow_authenticated": "on"})
    assert status == 200, page
    removed, added = changed_lines(before, srv.config_path.read_text())
    assert len(removed) == 1 and len(added) == 1, (removed, added)
    assert added[0].startswith("+ relay = {") and "allow_authenticated = true" in added[0], added
    # check's new finding for the departure is shown with the confirmation.
    assert "New findings of rampart check" in page and "relay.allow_authenticated = true" in html.unescape(page)


def test_a_stale_form_is_refused(rampart_factory):
    srv, c = start(rampart_factory)
    _, page = c.get("/console/listener?name=default")
    h = form_hash(page)
    changed = srv.config_path.read_text() + "# edited by hand meanwhile\n"
    srv.config_path.write_text(changed)
    status, page, _ = c.post("/console/listener", {"name": "default", "section": "connection", "hash": h,
                                                   "remote_ranges": "192.0.2.0/24"})
    assert status == 409, page
    assert "changed meanwhile" in page and "reload the page" in page
    assert srv.config_path.read_text() == changed


def test_a_post_without_the_csrf_token_changes_nothing(rampart_factory):
    srv, c = start(rampart_factory)
    before = srv.config_path.read_bytes()
    _, page = c.get("/console/listener?name=default")
    status, _, _ = c.post("/console/listener", {"name": "default", "section": "connection", "hash": form_hash(page),
                                                "remote_ranges": "192.0.2.0/24"}, csrf=None)
    assert status == 403
    assert srv.config_path.read_bytes() == before
