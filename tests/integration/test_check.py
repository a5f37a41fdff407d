"""Scenario (i): `rampart check` and `rampart explain` for every role preset; open relays
refused by check and serve unless relay.force_open_relay, and then check warns loudly."""
import smtplib
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, SOCK_TIMEOUT, free_port, wait_for
from policy_setup import configure, run

ROLES = {
    # role: default listener names, and what an anonymous client at 192.0.2.1 mailing
    # an inside address gets on the first one (explain exit status, deciding rule, reply)
    "gateway": (["internet"], 0, "domains", "250 2.1.5 recipient ok"),
    "all-in-one": (["internet", "submission"], 0, "domains", "250 2.1.5 recipient ok"),
    "edge": (["internet", "from-hub"], 0, "domains", "250 2.1.5 recipient ok"),
    "mailbox": (["smtp"], 1, "auth.anonymous", "530 5.7.0 authentication required"),
    "frontend": (["smtp"], 1, "auth.anonymous", "530 5.7.0 authentication required"),
    "hub": (["from-edge"], 1, "from-edge.pinned", "554 5.7.1 connection refused: not a subscribed edge server"),
}


def role_config(tmp_path, role, listeners_toml=""):
    path = tmp_path / f"{role}.toml"
    path.write_text(f'[server]\nrole = "{role}"\ndata_dir = "var"\n\n[[domains]]\nname = "{DOMAIN}"\n\n'
                    '[[send_connectors]]\nname = "out"\naddress_spaces = ["*"]\nroute = "smarthost"\n'
                    f'smarthosts = ["127.0.0.1:2599"]\n\n{listeners_toml}')
    return path


def explain(path, listener, client_ip, *extra, mail_from="someone@outside.test", rcpt=f"alice@{DOMAIN}"):
    return run("explain", "-c", str(path), "--listener", listener, "--client-ip", client_ip,
               "--mail-from", mail_from, "--rcpt", rcpt, *extra)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_check_and_explain_for_each_preset(tmp_path, role):
    names, status, rule, reply = ROLES[role]
    path = role_config(tmp_path, role)
    rc, out, err = run("check", "-c", str(path))
    assert rc == 0, out + err
    assert "configuration OK" in out and f"role {role}" in out
    for n in names:
        assert f'listener "{n}" ({role} preset ' in out, out
    assert out.count("follows the preset") == len(names), out
    assert "0 exposure(s), 0 informational departure(s)" in out, out
    rc, out, err = explain(path, names[0], "192.0.2.1")
    assert rc == status, out + err
    assert f"=> {reply}   [decided by {rule}]" in out, out
    assert out.startswith(f"listener {names[0]}, client 192.0.2.1, principal anonymous"), out


def test_hub_accepts_edges_as_servers(tmp_path):
    # A plain smtp listener on a hub: organisation servers from this host (the preset).
    path = role_config(tmp_path, "hub", '[[listeners]]\nname = "smtp"\n')
    # explain --server needs the server in the directory (as `rampart server add` puts it)
    (tmp_path / "directory.toml").write_text(f'[[servers]]\nname = "edge1"\naddresses = []\nfingerprint = "{"ab" * 32}"\n')
    rc, out, _ = explain(path, "smtp", "127.0.0.1", "--server", "edge1", "--tls", rcpt="x@outside.test")
    assert rc == 0 and "[decided by principal.server]" in out, out
    rc, out, _ = explain(path, "smtp", "127.0.0.1", rcpt="x@outside.test")
    assert rc == 1 and "530 5.7.0 authentication required" in out, out


def test_check_lists_departures_and_exposures(tmp_path):
    path = role_config(tmp_path, "gateway", """
[[listeners]]
name = "internet"
auth = { basic = true, basic_requires_tls = false }
relay = { list = ["192.0.2.10/32"], allow_authenticated = true }
permissions = { relay = ["authenticated"], submit = ["group:staff"] }
limits = { auth_lockout_failures = 0 }
""")
    rc, out, err = run("check", "-c", str(path))
    assert rc == 1, out + err
    expected = {
        "relay.allow_authenticated = true (preset false)": "a stolen login or malware on a client can send spam",
        "auth.basic_requires_tls = false (preset true)": "passwords cross the network in clear",
        'permissions.relay = ["authenticated"] (preset [])': "every authenticated user may relay",
        "limits.auth_lockout_failures = 0 (preset 5)": "no lockout",
        "auth.basic = true (preset false)": "stolen password",
    }
    lines = out.splitlines()
    for setting, exposure in expected.items():
        i = next((k for k, l in enumerate(lines) if setting in l), None)
        assert i is not None, f"{setting} missing:\n{out}"
        assert lines[i].lstrip().startswith("EXPOSURE") and exposure in lines[i + 1], out
    for setting in ('relay.list = ["192.0.2.10/32"]', 'permissions.submit = ["group:staff"]'):
        assert any(l.lstrip().startswith("info") and setting in l for l in lines), out
    assert "5 exposure(s), 2 informational departure(s)" in out, out


OPEN_RELAYS = [
    'relay = { list = ["0.0.0.0/0"] }',
    'relay = { list = ["::/0"] }',
    'relay = { mode = "all-except-list", list = [] }',
    'relay = { mode = "all-except-list", list = ["10.0.0.0/8"] }',
    'relay = { list = ["0.0.0.0/1", "128.0.0.0/1"] }',
]


@pytest.mark.parametrize("relay", OPEN_RELAYS)
def test_open_relay_refused_by_check_and_serve(tmp_path, relay):
    port = free_port()
    path = role_config(tmp_path, "gateway", f'[[listeners]]\nname = "internet"\nbind = ["127.0.0.1:{port}"]\n{relay}\n')
    rc, out, err = run("check", "-c", str(path))
    assert rc == 2 and "open relay" in err and "force_open_relay" in err, out + err
    rc, out, err = run("serve", "-c", str(path), timeout=20)
    assert rc == 2 and "open relay" in err, out + err


def test_forced_open_relay_serves_and_check_warns(rampart_factory, sink):
    srv = rampart_factory(start=False)
    configure(srv, "gateway", [("internet", free_port(), 'relay = { list = ["0.0.0.0/0"], force_open_relay = true }')],
              smarthost_port=sink.port)
    rc, out, err = run("check", "-c", str(srv.config_path))
    assert rc == 1, out + err
    assert "DANGER    relay.force_open_relay = true" in out and "OPEN RELAY" in out, out
    assert "DANGER: 1 forced open relay setting(s)" in out, out
    srv.start()
    with smtplib.SMTP(srv.host, srv.port, timeout=SOCK_TIMEOUT) as c:
        c.sendmail("anyone@outside.test", ["victim@elsewhere.test"], "Subject: spam\r\n\r\nspam\r\n")
    wait_for(lambda: sink.messages(), timeout=20, what="mail relayed by the forced open relay")


def test_check_help_documents_exit_status():
    rc, out, err = run("check", "--help")
    assert rc == 0 and "exit 1" in out and "exit 2" in out, out


def test_relay_list_is_judged_as_a_whole(tmp_path):
    # All 512 /9 blocks: no entry is wide, together they are the whole IPv4 Internet. They
    # used to load without relay.force_open_relay.
    blocks = [f"{(i >> 1)}.{(i & 1) * 128}.0.0/9" for i in range(512)]
    relay = "relay = { list = [" + ", ".join(f'"{b}"' for b in blocks) + "] }"
    port = free_port()
    path = role_config(tmp_path, "gateway", f'[[listeners]]\nname = "internet"\nbind = ["127.0.0.1:{port}"]\n{relay}\n')
    for cmd in ("check", "serve"):
        rc, out, err = run(cmd, "-c", str(path), timeout=20)
        assert rc == 2, (cmd, rc, out + err)
        assert "open relay: relay.list entries together admit every IPv4 address" in err, err
        assert "force_open_relay" in err, err


def test_check_flags_run_as_root_and_a_token_file_others_may_read(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    token.chmod(0o644)
    path = role_config(tmp_path, "gateway")
    path.write_text(path.read_text().replace("[server]\n", "[server]\nrun_as_root = true\n")
                    + f'\n[admin]\ntoken_file = "{token}"\n')
    rc, out, err = run("check", "-c", str(path))
    assert rc == 1, out + err
    assert "[server]\n  EXPOSURE  run_as_root = true (default false)\n" in out, out
    assert "no privilege drop" in out and "fix: remove run_as_root" in out, out
    assert f'[admin]\n  EXPOSURE  token_file = "{token}", mode 0644\n' in out, out
    assert f"fix: chmod 600 {token}" in out, out
    assert "2 exposure(s)" in out, out
    # Both fixed: nothing left to report.
    token.chmod(0o600)
    path.write_text(path.read_text().replace("run_as_root = true\n", ""))
    rc, out, err = run("check", "-c", str(path))
    assert rc == 0 and "EXPOSURE" not in out and "0 exposure(s)" in out, out + err
