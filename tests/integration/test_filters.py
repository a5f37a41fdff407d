"""The filter seam end to end: the connect-time block list ([connection_filter]) refuses
before the greeting (before the TLS handshake on implicit-TLS listeners), allow wins,
`explain` shows the same decision, `filters = false` turns the chain off and `check`
reports it, and the verdicts reach the log."""
import socket
import ssl
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, free_port, no_verify_context

BLOCKED = "127.0.0.66"
ALLOWED_INSIDE_BLOCK = "127.0.0.65"
FILTER_CONFIG = f"""[connection_filter]
allow = ["{ALLOWED_INSIDE_BLOCK}"]
block = ["127.0.0.64/29", "2001:db8:bad::/48"]
"""


def greeting_from(srv, source_ip, port=None):
    with socket.create_connection((srv.host, port or srv.port), timeout=10, source_address=(source_ip, 0)) as s:
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(512)
            if not chunk:
                break
            data += chunk
        return data.decode()


@pytest.fixture
def filtered(rampart_factory):
    return rampart_factory("filtered", extra_config=FILTER_CONFIG, listener_keys={"filters": True})


def test_blocked_client_gets_550_instead_of_the_greeting(filtered):
    assert greeting_from(filtered, BLOCKED) == "550 5.7.1 connection refused by the connection filter\r\n"
    assert greeting_from(filtered, "127.0.0.1").startswith("220 ")
    assert greeting_from(filtered, ALLOWED_INSIDE_BLOCK).startswith("220 "), "allow wins over block"
    refused = [e for e in filtered.log_events("smtp.connection.refused") if e.get("client") == BLOCKED]
    assert refused and refused[0]["rule"] == "connection_filter.block" and refused[0]["agent"] == "connection_filter"
    verdicts = [e for e in filtered.log_events("filter.verdict") if e.get("client") == BLOCKED]
    assert verdicts and verdicts[0]["verdict"] == "refuse" and "127.0.0.64/29" in verdicts[0]["reason"]


def test_implicit_tls_listener_closes_before_the_handshake(rampart_factory):
    tls_port = free_port()
    srv = rampart_factory("implicit", extra_config=FILTER_CONFIG, listener_keys={"filters": True},
                          extra_listeners=[("smtps", tls_port, "implicit")])
    with socket.create_connection((srv.host, tls_port), timeout=10, source_address=(BLOCKED, 0)) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            with no_verify_context().wrap_socket(raw, server_hostname="mx.test"):
                pass
    # An allowed client completes the handshake and reads the greeting over TLS.
    with socket.create_connection((srv.host, tls_port), timeout=10) as raw:
        with no_verify_context().wrap_socket(raw, server_hostname="mx.test") as s:
            assert s.recv(512).startswith(b"220 ")


def test_filters_off_means_no_chain(rampart_factory):
    srv = rampart_factory("unfiltered", extra_config=FILTER_CONFIG, listener_keys={"filters": False})
    assert greeting_from(srv, BLOCKED).startswith("220 ")
    assert not srv.log_events("filter.verdict")


def explain(srv, client_ip, *extra):
    r = subprocess.run([RAMPART_BIN, "explain", "-c", str(srv.config_path), "--listener", "default", "--client-ip", client_ip,
                        "--mail-from", "a@outside.test", "--rcpt", f"postmaster@{DOMAIN}", *extra],
                       capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout


def test_explain_shows_the_block_list_like_the_live_session(filtered):
    code, out = explain(filtered, BLOCKED)
    assert code == 1, out
    assert "filter connection_filter connection_filter.block  refuse" in out, out
    assert "=> 550 5.7.1 connection refused by the connection filter   [decided by filter connection_filter connection_filter.block]" in out
    assert "result: connection refused" in out
    live = greeting_from(filtered, BLOCKED).strip()
    assert live in out, (live, out)
    code, out = explain(filtered, ALLOWED_INSIDE_BLOCK)
    assert code == 0, out
    assert "connection_filter.allow  continue" in out, out


def test_check_reports_a_gateway_listener_without_filters(tmp_path):
    cfg = tmp_path / "gw.toml"
    cfg.write_text(f"""[server]
role = "gateway"
data_dir = "{tmp_path / 'data'}"
[[domains]]
name = "{DOMAIN}"
[[listeners]]
name = "internet"
filters = false
""")
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(cfg)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "EXPOSURE  filters = false (preset true)" in r.stdout, r.stdout


def test_bad_block_entry_is_a_config_error(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[connection_filter]\nblock = ["not-an-address"]\n')
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(cfg)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2
    assert "bad.toml:2: connection_filter.block" in r.stderr + r.stdout, r.stderr + r.stdout


def test_quarantine_tool_talks_to_the_running_server(filtered):
    r = subprocess.run([RAMPART_BIN, "quarantine", "list", "-c", str(filtered.config_path)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and "the quarantine is empty" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([RAMPART_BIN, "quarantine", "release", "NOSUCHID", "-c", str(filtered.config_path)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "no quarantined message NOSUCHID" in r.stderr, r.stdout + r.stderr
    r = subprocess.run([RAMPART_BIN, "quarantine", "list", "--json", "-c", str(filtered.config_path)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and '"messages":[]' in r.stdout, r.stdout
