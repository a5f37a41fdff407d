"""`rampart explain` and live sessions decide alike, with the same reply text."""
import re
import smtplib
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, RELAY_IP, wait_for


def explain(srv, client_ip, mail_from, rcpts, *extra):
    args = [RAMPART_BIN, "explain", "-c", str(srv.config_path), "--listener", "default",
            "--client-ip", client_ip, "--mail-from", mail_from]
    for r in rcpts:
        args += ["--rcpt", r]
    r = subprocess.run(args + list(extra), capture_output=True, text=True, timeout=20)
    # every reply, connection first: ("CODE ENH TEXT", rule)
    replies = re.findall(r"^  => (\d{3} .*?)   \[decided by ([^\]]+)\]$", r.stdout, re.M)
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


# ---- explain equals live for the limits that used to be decided outside the rule tables ----
# (issue 13). Each test asks the real `rampart explain` and a real smtplib session the same
# question and compares the replies; before the limits became rules, explain answered
# "accepted" for all of them.

def live_session(srv, mail_line, rcpts, data=None, source_ip="127.0.0.1"):
    """Raw MAIL/RCPT lines (SIZE=, SMTPUTF8 as given); returns 'CODE TEXT' per reply."""
    out = []
    with smtplib.SMTP(srv.host, srv.port, timeout=10, source_address=(source_ip, 0)) as c:
        c.command_encoding = "utf-8"   # the test sends exactly what it wants, SMTPUTF8 or not
        c.ehlo("client.test")
        code, text = c.docmd(mail_line)
        out.append(f"{code} {text.decode()}")
        if code != 250:
            return out
        accepted = 0
        for r in rcpts:
            code, text = c.docmd(f"RCPT TO:<{r}>")
            out.append(f"{code} {text.decode()}")
            accepted += code == 250
        if accepted and data is not None:
            code, text = c.data(data)
            out.append(f"{code} {text.decode()}")
    return out


def test_explain_size_limit_equals_live(rampart):
    # SIZE= over max_message_size (100 KiB less our Received header): 552 5.3.4 at MAIL
    code, text, replies = explain(rampart, "127.0.0.1", "s@outside.test", [f"a@{DOMAIN}"],
                                  "--size", "200000", "--ehlo", "client.test")
    assert code == 1, text
    assert replies[-1][1] == "limits.max_message_size", text
    live = live_session(rampart, "MAIL FROM:<s@outside.test> SIZE=200000", [f"a@{DOMAIN}"])
    assert live == [replies[-1][0]], text
    assert live[0].startswith("552 5.3.4"), live
    # just under the limit: the limit explain prints is the one live sessions apply
    limit = int(re.search(r"limit of (\d+) bytes", replies[-1][0]).group(1))
    code, text, replies = explain(rampart, "127.0.0.1", "s@outside.test", [f"a@{DOMAIN}"],
                                  "--size", str(limit), "--ehlo", "client.test")
    assert code == 0, text
    live = live_session(rampart, f"MAIL FROM:<s@outside.test> SIZE={limit}", [f"a@{DOMAIN}"])
    assert live == [r for r, _ in replies[1:]], text


def test_explain_max_recipients_equals_live(rampart):
    rcpts = [f"r{i}@{DOMAIN}" for i in range(7)]   # max_recipients = 5
    code, text, replies = explain(rampart, "127.0.0.1", "s@outside.test", rcpts)
    assert code == 1, text
    assert [rule for _, rule in replies[-2:]] == ["limits.max_recipients"] * 2, text
    live = live_session(rampart, "MAIL FROM:<s@outside.test>", rcpts)
    assert live == [r for r, _ in replies[1:]], text
    assert live[-1] == "452 4.5.3 too many recipients", live


def test_explain_hop_count_equals_live(rampart):
    hops = 50   # limits.max_received_headers default
    data = b"".join(b"Received: from hop%d.test by x.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n" % i for i in range(hops))
    data += b"Subject: loop\r\n\r\nlooping\r\n"
    code, text, replies = explain(rampart, "127.0.0.1", "s@outside.test", [f"a@{DOMAIN}"],
                                  "--received-count", str(hops))
    assert code == 1, text
    assert replies[-1][1] == "limits.max_received_headers", text
    live = live_session(rampart, "MAIL FROM:<s@outside.test>", [f"a@{DOMAIN}"], data=data)
    assert live == [r for r, _ in replies[1:]], text
    assert live[-1].startswith("554 5.4.6"), live
    # one fewer is fine in both
    code, text, replies = explain(rampart, "127.0.0.1", "s@outside.test", [f"a@{DOMAIN}"],
                                  "--received-count", str(hops - 1))
    assert code == 0, text


@pytest.mark.parametrize("smtputf8", [False, True])
def test_explain_smtputf8_equals_live(rampart, smtputf8):
    # a UTF-8 sender is a syntax error without SMTPUTF8 on MAIL, live and in explain alike
    extra = ["--smtputf8"] if smtputf8 else []
    code, text, replies = explain(rampart, "127.0.0.1", "jörg@outside.test", [f"a@{DOMAIN}"], *extra)
    assert code == (0 if smtputf8 else 1), text
    mail = "MAIL FROM:<jörg@outside.test>" + (" SMTPUTF8" if smtputf8 else "")
    live = live_session(rampart, mail, [f"a@{DOMAIN}"])
    assert live == [r for r, _ in replies[1:]], text
    if not smtputf8:
        assert replies[-1][1] == "command syntax" and live[0].startswith("553 5.6.7"), (text, live)


def test_explain_without_a_server_shows_live_only_checks(rampart, tmp_path):
    # connection limits, AUTH lockout and hourly limits depend on live state: with no server
    # answering on the control socket they are named in the trace with their limits
    offline = tmp_path / "offline.toml"
    offline.write_text(rampart.config_text().replace(str(rampart.data_dir), str(tmp_path / "nodata")))
    r = subprocess.run([RAMPART_BIN, "explain", "-c", str(offline), "--listener", "default", "--client-ip", "127.0.0.1",
                        "--mail-from", "s@outside.test", "--rcpt", f"a@{DOMAIN}"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    text = r.stdout
    assert "live state" not in text, text
    assert re.search(r"^  limits\.max_connections\s+pass\s+live-only: not evaluated offline \(limit \d+", text, re.M), text
    assert re.search(r"^  limits\.max_connections_per_source\s+pass\s+live-only", text, re.M), text
    assert re.search(r"^  limits\.max_messages_per_hour\s+pass\s+applies to authenticated users only", text, re.M), text


def test_explain_asks_the_running_server_for_connection_counts(rampart_factory, sink):
    # with max_connections_per_source = 1 and one connection open, explain (asking the
    # running server over its control socket) refuses the next connection as live does
    srv = rampart_factory(smarthost_port=sink.port, limits={"max_connections_per_source": 1})
    admitted = lambda: (lambda r: r if r[0] == 0 else None)(explain(srv, "127.0.0.1", "s@outside.test", [f"a@{DOMAIN}"]))
    wait_for(admitted, what="the start-up probe connection to be closed")   # then the count is 0
    with srv.raw() as held:
        assert held.read_reply()[0] == 220
        code, text, replies = explain(srv, "127.0.0.1", "s@outside.test", [f"a@{DOMAIN}"])
        assert code == 1, text
        assert "live state: from the running server's control socket" in text, text
        assert re.search(r"^  limits\.max_connections\s+pass\s+1 open on this listener", text, re.M), text
        assert replies == [("421 4.7.0 mx.test too many connections from your address; try again later",
                            "limits.max_connections_per_source")], text
        with srv.raw() as second:
            code, lines = second.read_reply()
            assert f"{code} {lines[-1]}" == replies[0][0], lines
    # once it is closed, explain and live admit the client again (the count is live)
    code, text, replies = wait_for(admitted, what="explain to see the closed connection")
    assert re.search(r"^  limits\.max_connections_per_source\s+pass\s+0 open from this address", text, re.M), text
