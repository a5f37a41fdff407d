"""The connection filter's DNS lists (RFC 5782) and the dynamic block list end to end
(issue 9): NSD serves a block-list zone and an allow-list zone; test clients bind their
source address to 127.0.0.x. A listed client reads 550 5.7.1 naming the zone at every RCPT
(or instead of the greeting with refuse_at = "connect"); an allow-listed client skips the
sender filter but not the attachment filter; a list that does not answer is skipped and
logged. `rampart block add|del|list` changes what the running server refuses at once,
and entries expire. `explain` shows the lists offline and the DNS lists with --online."""
import base64
import json
import smtplib
import socket
import subprocess

import pytest

import nsd
from conftest import DOMAIN, RAMPART_BIN, wait_for

LISTED = "127.0.0.2"          # in bl.example.test with 127.0.0.2
LISTED_OTHER_CODE = "127.0.0.10"   # in bl.example.test with 127.0.0.10, which `match` leaves out
ALLOW_LISTED = "127.0.0.3"    # in wl.example.test
CLEAN = "127.0.0.4"           # on no list
RCPT = f"postmaster@{DOMAIN}"

SOA = "@ IN SOA ns.{z}. hostmaster.example.test. 1 3600 600 86400 60\n@ IN NS ns.{z}.\nns IN A 127.0.0.1\n"
BL_ZONE = "$TTL 300\n" + SOA.format(z="bl.example.test") + "2.0.0.127 IN A 127.0.0.2\n10.0.0.127 IN A 127.0.0.10\n"
WL_ZONE = "$TTL 300\n" + SOA.format(z="wl.example.test") + "3.0.0.127 IN A 127.0.0.2\n"


def config(dns_port, refuse_at="rcpt", timeout="2s"):
    return f"""[dns]
servers = ["127.0.0.1:{dns_port}"]
timeout = "{timeout}"

[connection_filter]
refuse_at = "{refuse_at}"
[[connection_filter.block_providers]]
zone = "bl.example.test"
match = ["127.0.0.2", "127.0.0.4/30"]
[[connection_filter.allow_providers]]
zone = "wl.example.test"

[sender_filter]
block = ["spammer@bad.test"]

[attachment_filter]
action = "reject"
"""


@pytest.fixture(scope="module")
def nameserver(tmp_path_factory):
    with nsd.serve(tmp_path_factory.mktemp("nsd"), {"bl.example.test": BL_ZONE, "wl.example.test": WL_ZONE}) as port:
        yield port


def smtp_from(srv, source_ip):
    c = smtplib.SMTP(timeout=20, source_address=(source_ip, 0))
    c.connect(srv.host, srv.port)
    c.ehlo("client.test")
    return c


def greeting_from(srv, source_ip):
    with socket.create_connection((srv.host, srv.port), timeout=20, source_address=(source_ip, 0)) as s:
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(512)
            if not chunk:
                break
            data += chunk
        return data.decode()


def test_listed_client_is_refused_at_every_rcpt_naming_the_zone(nameserver, rampart_factory):
    srv = rampart_factory("rcpt", extra_config=config(nameserver), listener_keys={"filters": True})
    with smtp_from(srv, LISTED) as c:   # greeting, EHLO and MAIL proceed, as Exchange does
        assert c.mail("someone@outside.test")[0] == 250
        listed = (550, f"5.7.1 client {LISTED} is listed by bl.example.test".encode())
        assert c.rcpt(RCPT) == listed
        assert c.rcpt(f"alice@{DOMAIN}") == listed
    for ip in (CLEAN, LISTED_OTHER_CODE):
        with smtp_from(srv, ip) as c:
            assert c.mail("someone@outside.test")[0] == 250
            assert c.rcpt(RCPT)[0] == 250, ip
    refused = [e for e in srv.log_events("smtp.rcpt.refused") if e.get("client") == LISTED]
    assert refused and refused[0]["rule"] == "connection_filter.block_providers", refused


def test_refuse_at_connect_answers_instead_of_the_greeting(nameserver, rampart_factory):
    srv = rampart_factory("connect", extra_config=config(nameserver, refuse_at="connect"), listener_keys={"filters": True})
    assert greeting_from(srv, LISTED) == f"550 5.7.1 client {LISTED} is listed by bl.example.test\r\n"
    assert greeting_from(srv, CLEAN).startswith("220 ")


def exe_message():
    exe = base64.b64encode(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00").decode()
    return (f"From: spammer@bad.test\r\nTo: {RCPT}\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
            "--b\r\nContent-Type: application/octet-stream; name=\"a.exe\"\r\nContent-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: attachment; filename=\"a.exe\"\r\n\r\n{exe}\r\n--b--\r\n")


def test_allow_listed_client_skips_the_anti_spam_agents_but_not_hygiene(nameserver, rampart_factory):
    srv = rampart_factory("allow", extra_config=config(nameserver), listener_keys={"filters": True})
    with smtp_from(srv, ALLOW_LISTED) as c:
        assert c.mail("spammer@bad.test")[0] == 250, "the sender filter is skipped for an allow-listed client"
        assert c.rcpt(RCPT)[0] == 250
        code, _ = c.data("Subject: hi\r\n\r\nhello\r\n")
        assert code == 250
        assert c.mail("spammer@bad.test")[0] == 250
        assert c.rcpt(RCPT)[0] == 250
        code, text = c.data(exe_message())
        assert code == 554 and b"a.exe" in text, "hygiene agents are never skipped"
    with smtp_from(srv, CLEAN) as c:
        assert c.mail("spammer@bad.test") == (554, b"5.7.1 sender refused by the sender filter")
    [listed] = srv.log_events("connection_filter.allow_listed")
    assert listed["client"] == ALLOW_LISTED and listed["zone"] == "wl.example.test", listed


def test_a_list_that_does_not_answer_is_skipped_and_logged(rampart_factory):
    # A UDP socket that never answers: the look-up times out ([dns] timeout).
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        srv = rampart_factory("dead", extra_config=config(silent.getsockname()[1], timeout="1s"), listener_keys={"filters": True})
        with smtp_from(srv, LISTED) as c:
            assert c.mail("someone@outside.test")[0] == 250
            assert c.rcpt(RCPT)[0] == 250
            assert c.data("Subject: hi\r\n\r\nhello\r\n")[0] == 250
        # Logged for the first client that asked (the start-up probe or this one); the list
        # then rests, so later clients do not wait for it again.
        failed = wait_for(lambda: len(srv.log_events("connection_filter.dns_list.failed")) >= 2 and
                          srv.log_events("connection_filter.dns_list.failed"), what="the failures logged")
        assert {e["zone"] for e in failed} == {"wl.example.test", "bl.example.test"}, failed
        assert all("no answer" in e["error"] for e in failed), failed


def block_cli(srv, *args):
    return subprocess.run([RAMPART_BIN, "block", *args, "-c", str(srv.config_path)], capture_output=True, text=True, timeout=30)


def test_block_add_del_and_expiry_on_a_live_server(rampart_factory):
    srv = rampart_factory("block", extra_config="[connection_filter]\n", listener_keys={"filters": True})
    victim = "127.0.0.7"
    assert greeting_from(srv, victim).startswith("220 ")
    r = block_cli(srv, "add", victim, "--reason", "seen spamming")
    assert r.returncode == 0, r.stderr
    assert greeting_from(srv, victim) == f"550 5.7.1 client {victim} is blocked until removed: seen spamming\r\n"
    assert greeting_from(srv, "127.0.0.8").startswith("220 ")
    r = block_cli(srv, "list", "--json")
    assert r.returncode == 0, r.stderr
    [entry] = json.loads(r.stdout)
    assert entry["prefix"] == f"{victim}/32" and entry["reason"] == "seen spamming" and entry["expires"] is None
    assert entry["source"] == "operator"
    assert (srv.data_dir / "block_list").read_text().count(f"{victim}/32") == 1   # persisted
    r = block_cli(srv, "del", victim)
    assert r.returncode == 0, r.stderr
    assert greeting_from(srv, victim).startswith("220 ")
    assert block_cli(srv, "del", victim).returncode == 1   # nothing left to remove
    # Expiry: blocked now, lifted by itself.
    r = block_cli(srv, "add", "127.0.0.0/29", "--expires", "2s", "--reason", "short")
    assert r.returncode == 0, r.stderr
    assert greeting_from(srv, victim).startswith("550 5.7.1 client 127.0.0.7 is blocked until ")
    wait_for(lambda: greeting_from(srv, victim).startswith("220 "), timeout=30, what="the entry to expire")
    r = block_cli(srv, "list")
    assert r.returncode == 0 and "the block list is empty" in r.stdout, r.stdout


def test_block_entries_survive_a_restart(rampart_factory):
    srv = rampart_factory("restart", extra_config="[connection_filter]\n", listener_keys={"filters": True})
    assert block_cli(srv, "add", "127.0.0.9", "--expires", "1d").returncode == 0
    srv.stop()
    srv.start()
    assert greeting_from(srv, "127.0.0.9").startswith("550 5.7.1 client 127.0.0.9 is blocked until ")


def explain(srv, client_ip, *extra):
    r = subprocess.run([RAMPART_BIN, "explain", "-c", str(srv.config_path), "--listener", "default", "--client-ip", client_ip,
                        "--mail-from", "a@outside.test", "--rcpt", RCPT, *extra], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout


def test_explain_shows_block_list_offline_and_dns_lists_online(nameserver, rampart_factory):
    srv = rampart_factory("explain", extra_config=config(nameserver), listener_keys={"filters": True})
    assert block_cli(srv, "add", "127.0.0.7", "--reason", "manual").returncode == 0
    code, out = explain(srv, "127.0.0.7")
    assert code == 1 and "filter connection_filter block_list  refuse" in out, out
    assert "127.0.0.7 is in 127.0.0.7/32 (added by operator, until removed): manual" in out, out
    code, out = explain(srv, LISTED)
    assert code == 0 and "DNS lists not evaluated offline (use --online)" in out, out
    code, out = explain(srv, LISTED, "--online")
    assert code == 1, out
    assert f"=> 550 5.7.1 client {LISTED} is listed by bl.example.test" in out, out
    code, out = explain(srv, ALLOW_LISTED, "--online")
    assert "is allow-listed by wl.example.test" in out, out
    assert "skipped: the client is allow-listed" in out, out


@pytest.mark.parametrize("text,where", [
    ('[connection_filter]\nrefuse_at = "helo"\n', "bad.toml:2: connection_filter.refuse_at"),
    ('[connection_filter]\n[[connection_filter.block_providers]]\nzone = "bad zone!"\n',
     "bad.toml:3: connection_filter.block_providers[0].zone"),
    ('[connection_filter]\n[[connection_filter.block_providers]]\nmatch = ["127.0.0.2"]\n',
     "connection_filter.block_providers[0].zone: required key is missing"),
    ('[connection_filter]\n[[connection_filter.block_providers]]\nzone = "bl.test"\nmatch = ["127.0.0.300"]\n',
     "bad.toml:4: connection_filter.block_providers[0].match"),
    ('[connection_filter]\n[[connection_filter.allow_providers]]\nzone = "wl.test"\nmatch = ["127.0.0.2"]\n',
     "bad.toml:4: connection_filter.allow_providers[0].match: unknown key"),
])
def test_bad_dns_list_settings_are_config_errors(tmp_path, text, where):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(cfg)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2, r.stdout
    assert where in r.stderr + r.stdout, r.stderr + r.stdout


def test_block_tool_refuses_bad_input_and_works_without_a_server(rampart_factory):
    srv = rampart_factory("offline", start=False, extra_config="[connection_filter]\n", listener_keys={"filters": True})
    srv.write_config()
    r = block_cli(srv, "add", "not-an-address")
    assert r.returncode == 2 and "not an address or prefix" in r.stderr, r.stderr
    r = block_cli(srv, "add", "127.0.0.9", "--expires", "soon")
    assert r.returncode == 2 and "--expires" in r.stderr, r.stderr
    # No server running: the file in data_dir is changed, and read at start.
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    r = block_cli(srv, "add", "127.0.0.9", "--reason", "offline add")
    assert r.returncode == 0 and "no rampart server is running" in r.stderr, r.stderr
    srv.start()
    assert greeting_from(srv, "127.0.0.9") == "550 5.7.1 client 127.0.0.9 is blocked until removed: offline add\r\n"
