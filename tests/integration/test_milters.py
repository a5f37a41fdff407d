"""Milters ([[milters]], DESIGN.md §5/§11): rampart speaks the libmilter protocol (version 6)
to a milter written for the tests (milter_peer.py) that is scripted per test — every event
and macro reaches it; reject, reply codes, tempfail, discard, accept and quarantine map to
the chain's verdicts; header, body and recipient modifications are applied; a milter that
answers garbage, hangs past the timeout or is stopped gives 451 4.7.1 with nothing
delivered or lost (the retry is accepted once it is back), unless on_error = "accept",
which `rampart check` reports. The real Debian milters (OpenDKIM, clamav-milter) are in
test_milters_debian.py."""
import smtplib
import subprocess

import pytest

import milter_peer as mp
from conftest import DOMAIN, RAMPART_BIN, wait_for


@pytest.fixture
def peers():
    started = []

    def make(**kw):
        p = mp.MilterPeer(**kw)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


def milter_config(*milters, on_error=None, timeout="5s"):
    lines = []
    for i, m in enumerate(milters):
        lines += ["[[milters]]", f'name = "m{i + 1}"', f'address = "{m.address}"', f'command_timeout = "{timeout}"',
                  f'content_timeout = "{timeout}"']
        if on_error:
            lines.append(f'on_error = "{on_error}"')
    return "\n".join(lines) + "\n"


def server(rampart_factory, *milters, **kw):
    return rampart_factory("ml", extra_config=milter_config(*milters, **kw), listener_keys={"filters": True})


def message(subject="hello", body=b"hello, world\r\n", extra=b""):
    return (b"From: sender@outside.test\r\nTo: user@" + DOMAIN.encode() + b"\r\nSubject: " + subject.encode() +
            b"\r\n" + extra + b"\r\n" + body)


def send(srv, data, rcpts=("user",)):
    """One transaction -> (code, text) of the reply to the data (or of the greeting or the
    first RCPT that refused)."""
    try:
        s = smtplib.SMTP(srv.host, srv.port, timeout=30)
    except smtplib.SMTPConnectError as e:
        return e.smtp_code, e.smtp_error
    with s:
        s.ehlo("client.test")
        assert s.mail("sender@outside.test")[0] == 250
        for r in rcpts:
            code, text = s.rcpt(f"{r}@{DOMAIN}")
            if code != 250:
                return code, text
        return s.data(data)


def delivered(srv, local, subject, n=1):
    def found():
        got = [m for m in srv.maildir_messages(local) if b"Subject: " + subject.encode() in m]
        return got if len(got) >= n else None
    return wait_for(found, 15, what=f"{n} message(s) '{subject}' for {local}\n{srv.log_tail()}")


def nothing_kept(srv):
    assert srv.spool_count() == 0, "nothing kept: the client still has the message"
    assert not srv.maildir_messages()


def test_every_event_and_the_macros_reach_the_milter(rampart_factory, peers):
    peer = peers()
    srv = server(rampart_factory, peer)
    data = message(extra=b"X-Folded: one\r\n\ttwo\r\n")
    code, text = send(srv, data)
    assert code == 250, text
    [stored] = delivered(srv, "user", "hello")
    assert stored.endswith(data), "no modification: the message is unchanged"
    wait_for(lambda: peer.session_events()[-1:] == ["quit"], 10, what="QUIT to the milter at the session's end")
    order = peer.session_events()
    assert order[:5] == ["connect", "helo", "mail", "rcpt", "data"], peer.events
    assert order[-4:] == ["eoh", "body", "eom", "quit"], order
    connect = peer.seen("connect")[-1]   # the session (an earlier one is the start-up probe)
    assert connect[:13] == b"[127.0.0.1]\x004" and connect[15:] == b"127.0.0.1\x00", connect
    port = int.from_bytes(connect[13:15], "big")
    assert port != 0, "the connect packet carries the client's port"
    assert peer.seen("helo") == [b"client.test\0"]
    assert peer.seen("mail") == [b"<sender@outside.test>\0"]
    assert peer.seen("rcpt") == [f"<user@{DOMAIN}>\0".encode()]
    headers = peer.seen("header")
    assert b"Subject\0hello\0" in headers and b"X-Folded\0one\n\ttwo\0" in headers, headers
    assert peer.seen("body") == [b"hello, world\r\n"]
    m = peer.macros
    assert m["j"] == "mx.test" and m["{client_addr}"] == "127.0.0.1" and m["{daemon_name}"] == "default", m
    assert m["{client_port}"] == str(port), m
    assert m["{mail_addr}"] == "sender@outside.test" and m["{rcpt_addr}"] == f"user@{DOMAIN}" and m["i"], m
    assert "{auth_authen}" not in m, "an anonymous client has no {auth_authen}"


def test_leading_space_and_no_reply_flags_are_honoured(rampart_factory, peers):
    peer = peers(protocol=mp.HDR_LEADSPC | mp.NR_HDR)
    srv = server(rampart_factory, peer)
    code, text = send(srv, message())
    assert code == 250, text
    assert b"Subject\0 hello\0" in peer.seen("header"), "verbatim value with SMFIP_HDR_LEADSPC"


def test_reject_replycode_tempfail_and_discard(rampart_factory, peers):
    def rcpt(data):
        return mp.REJECT if data.startswith(b"<blocked@") else mp.CONTINUE

    def eom_reply(_):
        body = peer.seen("body")[-1]
        if b"REPLYCODE" in body:
            return mp.reply_code("554 5.7.1 Go away\x01 now")
        if b"TEMPFAIL" in body:
            return mp.TEMPFAIL
        if b"DISCARD" in body:
            return mp.DISCARD
        return mp.CONTINUE

    peer = peers(script={"rcpt": rcpt, "eom": eom_reply})
    srv = server(rampart_factory, peer)
    code, text = send(srv, message(), rcpts=("blocked",))
    assert (code, text) == (550, b"5.7.1 recipient refused by policy")
    code, text = send(srv, message("replycode", b"REPLYCODE\r\n"))
    assert (code, text) == (554, b"5.7.1 Go away? now")
    code, text = send(srv, message("tempfail", b"TEMPFAIL\r\n"))
    assert (code, text) == (451, b"4.7.1 try again later")
    code, text = send(srv, message("discard", b"DISCARD\r\n"))
    assert code == 250, text
    code, text = send(srv, message("fine"))
    assert code == 250, text
    delivered(srv, "user", "fine")
    assert not [m for m in srv.maildir_messages() if b"Subject: discard" in m or b"Subject: replycode" in m]
    verdicts = [e for e in srv.log_events("filter.verdict") if e.get("agent") == "milter:m1" and e.get("verdict") != "continue"]
    assert [v["verdict"] for v in verdicts] == ["refuse", "refuse", "tempfail", "discard"], verdicts
    assert all(v["rule"] == "milters.m1" for v in verdicts), verdicts


def test_header_body_and_recipient_modifications(rampart_factory, peers):
    eom = (mp.ins_header(0, "X-First", "top") + mp.chg_header(1, "Subject", "changed") +
           mp.chg_header(2, "X-Dup", "") + mp.add_header("X-Milter", "added\n\tfolded") +
           mp.add_rcpt(f"other@{DOMAIN}") + mp.del_rcpt(f"user@{DOMAIN}") + mp.repl_body(b"replaced\r\nbody\r\n"))
    peer = peers(eom=eom)
    srv = server(rampart_factory, peer)
    code, text = send(srv, message("original", extra=b"X-Dup: 1\r\nX-Dup: 2\r\n"))
    assert code == 250, text
    [stored] = delivered(srv, "other", "changed")
    head, _, body = stored.partition(b"\r\n\r\n")
    assert body == b"replaced\r\nbody\r\n", stored
    assert b"X-First: top\r\nFrom: sender@outside.test\r\n" in head, head
    assert b"X-Dup: 1\r\n" in head and b"X-Dup: 2" not in head, head
    assert head.endswith(b"X-Milter: added\r\n\tfolded"), head
    assert not srv.maildir_messages("user"), "the milter removed the original recipient"


@pytest.mark.parametrize("new_sender, return_path", [("bounces@" + DOMAIN, b"<bounces@" + DOMAIN.encode() + b">"),
                                                     ("<>", b"<>")])
def test_sender_change_becomes_the_envelope_sender(rampart_factory, peers, new_sender, return_path):
    # SMFIR_CHGFROM (e.g. a milter doing SRS or VERP): the stored envelope sender is the
    # milter's, as the Return-Path of the delivered copy shows; "<>" is the null sender.
    peer = peers(eom=mp.chg_from(new_sender, "SIZE=100" if new_sender != "<>" else None))
    srv = server(rampart_factory, peer)
    code, text = send(srv, message("chgfrom"))
    assert code == 250, text
    [stored] = delivered(srv, "user", "chgfrom")
    assert stored.startswith(b"Return-Path: " + return_path + b"\r\n"), stored[:200]


def test_accept_at_connect_skips_the_milter_for_the_session(rampart_factory, peers):
    peer = peers(script={"connect": mp.ACCEPT})
    srv = server(rampart_factory, peer)
    code, text = send(srv, message())
    assert code == 250, text
    delivered(srv, "user", "hello")
    assert not peer.seen("helo") and not peer.seen("mail"), peer.events


def test_quarantine_holds_the_message(rampart_factory, peers):
    peer = peers(eom=mp.quarantine("held by the test milter"))
    srv = server(rampart_factory, peer)
    code, text = send(srv, message("held"))
    assert code == 250, text
    r = subprocess.run([RAMPART_BIN, "quarantine", "list", "-c", str(srv.config_path)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0 and "1 message" in r.stdout, r.stdout + r.stderr
    assert "held by the test milter" in r.stdout, r.stdout
    assert not srv.maildir_messages()


@pytest.mark.parametrize("misbehaviour,error", [
    (mp.GARBAGE, "milter protocol error: unknown reply 'Z'"),
    (mp.CLOSE, "the milter closed the connection"),
    (mp.HANG, "no reply to the message within 1000 ms"),
    (mp.add_header("Bad Name", "x") + mp.CONTINUE, "milter protocol error: header name is not a field name"),
])
def test_a_misbehaving_milter_fails_closed(rampart_factory, peers, misbehaviour, error):
    peer = peers(script={"eom": misbehaviour})
    srv = server(rampart_factory, peer, timeout="1s")
    code, text = send(srv, message())
    assert (code, text) == (451, b"4.7.1 message filter unavailable; try again later")
    nothing_kept(srv)
    [err] = srv.log_events("milter.error")
    assert err["milter"] == "m1" and err["on_error"] == "tempfail" and error in err["error"], err


def test_modification_not_negotiated_fails_closed(rampart_factory, peers):
    peer = peers(actions=mp.ADDHDRS, eom=mp.del_rcpt(f"user@{DOMAIN}"))
    srv = server(rampart_factory, peer)
    code, text = send(srv, message())
    assert code == 451, text
    [err] = srv.log_events("milter.error")
    assert "delrcpt without asking for it in the negotiation" in err["error"], err


def test_milter_stopped_gives_451_and_the_retry_succeeds(rampart_factory, peers):
    peer = peers()
    srv = server(rampart_factory, peer)
    port = peer.port
    peer.stop()
    data = message("retried")
    code, text = send(srv, data)
    assert (code, text) == (451, b"4.7.1 message filter unavailable; try again later")
    nothing_kept(srv)
    err = srv.log_events("milter.error")[-1]
    assert "cannot connect to the milter" in err["error"] and err["stage"] == "connect", err
    peers(port=port)   # back on the same address
    code, text = send(srv, data)
    assert code == 250, text
    [stored] = delivered(srv, "user", "retried")
    assert stored.endswith(data)


def test_on_error_accept_lets_mail_through_and_check_reports_it(rampart_factory, peers):
    peer = peers()
    srv = server(rampart_factory, peer, on_error="accept")
    peer.stop()
    code, text = send(srv, message("unfiltered"))
    assert code == 250, text
    delivered(srv, "user", "unfiltered")
    errs = srv.log_events("milter.error")
    assert errs and all(e["on_error"] == "accept" for e in errs), errs
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(srv.config_path)], capture_output=True, text=True, timeout=20)
    assert "[[milters]]" in r.stdout and 'EXPOSURE  on_error = "accept" (default "tempfail")' in r.stdout, r.stdout
    assert 'milter "m1"' in r.stdout, r.stdout


def test_milter_as_an_antivirus_engine(rampart_factory, peers):
    def eom(_):
        return mp.reply_code("550 5.7.1 Infected (Test.Virus)") if b"VIRUS" in peer.seen("body")[-1] else mp.ACCEPT

    peer = peers(script={"eom": eom})
    cfg = f'[antivirus]\n[[antivirus.engines]]\nname = "mv"\ntype = "milter"\naddress = "{peer.address}"\ntimeout = "5s"\n'
    srv = rampart_factory("av", extra_config=cfg, listener_keys={"filters": True})
    code, text = send(srv, message("infected", b"VIRUS\r\n"))
    assert (code, text) == (554, b"5.7.1 message refused: virus found: Infected (Test.Virus)")
    code, text = send(srv, message("clean"))
    assert code == 250, text
    delivered(srv, "user", "clean")
    peer.stop()
    code, text = send(srv, message("down"))
    assert (code, text) == (451, b"4.7.1 virus scan unavailable; try again later")
    [err] = srv.log_events("antivirus.engine_error")
    assert err["engine"] == "mv" and "cannot connect to the milter" in err["error"], err


def test_a_lost_connection_is_reopened_for_the_next_transaction(rampart_factory, peers):
    closed = []

    def eom(_):
        if not closed:
            closed.append(1)
            return mp.CLOSE
        return mp.CONTINUE

    peer = peers(script={"eom": eom})
    srv = server(rampart_factory, peer)
    with smtplib.SMTP(srv.host, srv.port, timeout=30) as s:
        s.ehlo("client.test")
        for subject, want in (("first", 451), ("second", 250)):
            assert s.mail("sender@outside.test")[0] == 250
            assert s.rcpt(f"user@{DOMAIN}")[0] == 250
            code, text = s.data(message(subject))
            assert code == want, text
            if code != 250:
                s.rset()
    delivered(srv, "user", "second")
    assert not [m for m in srv.maildir_messages() if b"Subject: first" in m]
    # The new connection repeats connect and the client's HELO before MAIL FROM.
    with peer.lock:
        last = max(n for _, _, n in peer.events)
        events = [(e, d) for e, d, n in peer.events if n == last]
    assert [e for e, _ in events][:4] == ["connect", "helo", "mail", "rcpt"], events
    assert events[1][1] == b"client.test\0"


def test_an_authenticated_user_is_named_to_the_milter(rampart_factory, peers):
    from conftest import no_verify_context
    from policy_setup import add_user

    peer = peers()
    srv = rampart_factory("ml", start=False, extra_config=milter_config(peer), listener_keys={"filters": True})
    text = srv.config_text().replace(
        'tls = "starttls"', 'tls = "starttls"\nauth = { basic = true }\npermissions = { submit = ["group:staff"] }', 1)
    srv.config_path.write_text(text)
    add_user(srv, "alice", "alice-secret", "staff")
    add_user(srv, "user", "user-secret")
    srv.start()
    with smtplib.SMTP(srv.host, srv.port, timeout=30) as s:
        s.ehlo("client.test")
        s.starttls(context=no_verify_context())
        s.ehlo("client.test")
        s.login("alice", "alice-secret")
        assert s.mail(f"alice@{DOMAIN}")[0] == 250
        assert s.rcpt(f"user@{DOMAIN}")[0] == 250
        code, text = s.data(message("authenticated"))
        assert code == 250, text
    assert peer.macros["{auth_authen}"] == "alice" and peer.macros["{auth_type}"] in ("PLAIN", "LOGIN"), peer.macros


def test_milter_on_a_unix_socket(rampart_factory, peers, tmp_path):
    peer = peers(unix_path=tmp_path / "milter.sock", eom=mp.add_header("X-Unix", "yes"))
    srv = server(rampart_factory, peer)
    code, text = send(srv, message("unix"))
    assert code == 250, text
    [stored] = delivered(srv, "user", "unix")
    assert b"\r\nX-Unix: yes\r\n" in stored, stored


def test_bad_milter_entries_are_load_errors_with_file_and_line(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text('[[milters]]\nname = "dkim"\naddress = "127.0.0.1"\non_error = "reject"\n[[milters]]\naddress = "inet:127.0.0.1:8891"\n')
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(cfg)], capture_output=True, text=True, timeout=20)
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert 'm.toml:3: milters[0].address: "127.0.0.1" is neither address:port nor unix:PATH' in out, out
    assert 'm.toml:4: milters[0].on_error: unknown value "reject"' in out, out
    assert "milters[1].name" in out and "required" in out, out
