"""SIGHUP (`systemctl reload`) reloads the whole configuration: listeners' rules and
addresses change for new sessions, a session in progress keeps the rules it started with,
a broken file keeps the running configuration and says where it is broken, and settings
that need a restart are named and kept."""
import signal

from conftest import RELAY_IP, RawSMTP, free_port, port_accepts, wait_for


def reload(srv, event="config.reloaded"):
    """SIGHUP, then wait until one more `event` is in the log; returns that event."""
    before = len(srv.log_events(event))
    srv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len(srv.log_events(event)) > before, what=event)
    return srv.log_events(event)[-1]


def relay_reply(srv, c=None):
    """RCPT for a remote domain from RELAY_IP, in a new session or in `c` (after EHLO)."""
    if c is None:
        with RawSMTP(srv.host, srv.port, source_address=(RELAY_IP, 0)) as c:
            assert c.read_reply()[0] == 220
            assert c.cmd("EHLO client.test")[0] == 250
            return relay_reply(srv, c)
    assert c.cmd("MAIL FROM:<app@elsewhere.test>")[0] == 250
    code = c.cmd("RCPT TO:<someone@far.test>")[0]
    assert c.cmd("RSET")[0] == 250
    return code


def test_reload_changes_relay_list_for_new_sessions_only(rampart_factory):
    srv = rampart_factory(relay_list=("127.0.0.9/32",), smarthost_port=free_port())
    assert relay_reply(srv) >= 500   # RELAY_IP is not on the list yet
    with RawSMTP(srv.host, srv.port, source_address=(RELAY_IP, 0)) as old:
        assert old.read_reply()[0] == 220
        assert old.cmd("EHLO client.test")[0] == 250
        srv.relay_list = [RELAY_IP + "/32"]
        srv.write_config()
        ev = reload(srv)
        assert ev["needs_restart"] == "0", ev
        assert relay_reply(srv) == 250   # a new session: the new list
        # The session opened before the reload is still served, on the rules it started with.
        assert relay_reply(srv, old) >= 500
        assert old.cmd("QUIT")[0] == 221


def test_reload_changes_remote_ranges(rampart_factory):
    srv = rampart_factory()
    with srv.raw() as c:
        assert c.read_reply()[0] == 220
    srv.config_path.write_text(srv.config_text().replace('remote_ranges = ["0.0.0.0/0", "::/0"]',
                                                         'remote_ranges = ["192.0.2.0/24"]'))
    reload(srv)
    with srv.raw() as c:
        code, text = c.read_reply()[:2]
        assert code == 554, text


def test_broken_file_keeps_running_configuration(rampart_factory):
    srv = rampart_factory(relay_list=(RELAY_IP + "/32",), smarthost_port=free_port())
    good = srv.config_path.read_text()
    # Line 3 of the file gets an unknown key; the relay list is emptied further down.
    lines = good.splitlines()
    lines.insert(2, 'colour = "blue"')
    srv.config_path.write_text("\n".join(lines).replace(f'"{RELAY_IP}/32"', "") + "\n")
    ev = reload(srv, "config.reload.failed")
    assert f"{srv.config_path}:3:" in ev["error"] and "colour" in ev["error"], ev
    assert ev["action"] == "kept the running configuration"
    assert srv.running()
    assert relay_reply(srv) == 250   # still the old relay list
    # Fixed again: the next reload applies it.
    srv.config_path.write_text(good)
    reload(srv)


def test_listeners_added_and_removed(rampart_factory):
    srv = rampart_factory()
    port2 = free_port()
    assert not port_accepts(srv.host, port2)
    srv.extra_listeners = [("second", port2, "none")]
    srv.write_config()
    reload(srv)
    with RawSMTP(srv.host, port2) as c:
        assert c.read_reply()[0] == 220
        srv.extra_listeners = []
        srv.write_config()
        reload(srv)
        assert not port_accepts(srv.host, port2)
        assert c.cmd("NOOP")[0] == 250   # the session accepted on the removed listener goes on
    with srv.raw() as c:
        assert c.read_reply()[0] == 220   # the listener that stayed kept its socket


def test_restart_only_settings_are_named_and_kept(rampart_factory, tmp_path):
    srv = rampart_factory(smarthost_port=free_port())
    old_data = srv.data_dir
    srv.data_dir = tmp_path / "elsewhere"
    srv.write_config()
    reload(srv, "config.reload.needs_restart")
    ev = reload_event = srv.log_events("config.reload.needs_restart")[-1]
    assert ev["setting"] == "server.data_dir", reload_event
    wait_for(lambda: srv.log_events("config.reloaded"), what="config.reloaded")
    srv.data_dir = old_data   # the running server still uses the old one
    with RawSMTP(srv.host, srv.port, source_address=(RELAY_IP, 0)) as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<app@elsewhere.test>")[0] == 250
        assert c.cmd("RCPT TO:<someone@far.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        assert c.cmd("Subject: x\r\n\r\nbody\r\n.")[0] == 250
    assert not (tmp_path / "elsewhere").exists()
