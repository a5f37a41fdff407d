"""`rampart explain` and live sessions decide alike, with the same reply text."""
import re
import smtplib
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, RELAY_IP


def explain(srv, client_ip, mail_from, rcpts, *extra):
    args = [RAMPART_BIN, "explain", "-c", str(srv.config_path), "--listener", "default",
            "--client-ip", client_ip, "--mail-from", mail_from]
    for r in rcpts:
        args += ["--rcpt", r]
    r = subprocess.run(args + list(extra), capture_output=True, text=True, timeout=20)
    replies = re.findall(r"^  => (\d{3} \S+ .*?)   \[decided by (\S+)\]$", r.stdout, re.M)
    return r.returncode, r.stdout, replies


def live_rcpt_replies(srv, source_ip, mail_from, rcpts):
    out = []
    with smtplib.SMTP(srv.host, srv.port, timeout=10, source_address=(source_ip, 0)) as c:
        c.ehlo("client.test")
        code, _ = c.mail(mail_from)
        assert code == 250
        for r in rcpts:
            code, text = c.rcpt(r)
            out.append(f"{code} {text.decode()}")
    return out


CASES = [
    ("127.0.0.1", [f"alice@{DOMAIN}", "x@outside.test", f"u%outside.test@{DOMAIN}", "u@[192.0.2.1]"], 1),
    (RELAY_IP, ["x@outside.test", f"bob@{DOMAIN}"], 0),
]


@pytest.mark.parametrize("client_ip,rcpts,status", CASES)
def test_explain_matches_live(rampart, client_ip, rcpts, status):
    code, text, replies = explain(rampart, client_ip, "sender@outside.test", rcpts)
    assert code == status, text
    # the last replies are one per recipient (connection and MAIL come first)
    rcpt_replies = [r for r, _ in replies[-len(rcpts):]]
    assert rcpt_replies == live_rcpt_replies(rampart, client_ip, "sender@outside.test", rcpts), text


def test_explain_names_the_deciding_rule(rampart):
    code, text, replies = explain(rampart, "127.0.0.1", "s@outside.test", ["x@outside.test"])
    assert code == 1
    assert replies[-1] == ("550 5.7.1 relaying denied", "relay")
    for rule in ("relay.list", "relay.allow_authenticated", "permissions.relay", "principal.server"):
        assert re.search(rf"^  {re.escape(rule)}\s+pass\s", text, re.M), text
    code, text, replies = explain(rampart, RELAY_IP, "", ["x@outside.test"])
    assert code == 0 and replies[-1][1] == "relay.list", text


def test_explain_unknown_listener_is_an_error(rampart):
    r = subprocess.run([RAMPART_BIN, "explain", "-c", str(rampart.config_path), "--listener", "nope",
                        "--client-ip", "127.0.0.1", "--mail-from", "a@b.test", "--rcpt", "c@d.test"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2
    assert "no listener named" in r.stderr
