"""Milters from Debian behind rampart's milter client ([[milters]], DESIGN.md §5/§11):
OpenDKIM (opendkim.py) signs the mail of an internal client (the relay list's address) and of an authenticated user —
the delivered message carries a DKIM-Signature that python3-dkim verifies — and verifies
everyone else's, adding Authentication-Results (pass, and fail for a tampered body);
OpenDKIM killed mid-test gives 451 4.7.1 with nothing delivered or lost, and the client's
retry after the restart is signed and delivered. clamav-milter (clamav_milter.py, in front
of the tests' clamd) rejects EICAR naming the virus, as a [[milters]] entry and as an
[[antivirus.engines]] of type "milter"."""
import base64
import smtplib

import dkim
import pytest

from clamav_milter import ClamavMilter
from clamd import EICAR, EICAR_SIGNATURE, Clamd
from conftest import DOMAIN, RELAY_IP, no_verify_context, wait_for
from opendkim import AUTHSERV_ID, OpenDkim
from policy_setup import add_user

OUTSIDE_IP = "127.0.0.2"   # not in OpenDKIM's InternalHosts


@pytest.fixture
def opendkim():
    d = OpenDkim().start()
    yield d
    d.cleanup()


@pytest.fixture
def clamav_milter():
    clamd = Clamd().start()
    m = ClamavMilter(clamd).start()
    yield m
    m.cleanup()
    clamd.cleanup()


def milter_config(m, name="dkim"):
    return f'[[milters]]\nname = "{name}"\naddress = "{m.address}"\ncommand_timeout = "10s"\ncontent_timeout = "20s"\n'


def message(subject, sender="alice@example.test", body=b"Hello, signed world.\r\n"):
    return (f"From: Alice <{sender}>\r\nTo: user@{DOMAIN}\r\nSubject: {subject}\r\n"
            f"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '.')}@example.test>\r\n\r\n"
            ).encode() + body


def send(srv, data, source=None, sender="alice@example.test", login=None):
    """One transaction to user@DOMAIN -> (code, text) of the reply to the data (or the greeting)."""
    try:
        s = smtplib.SMTP(srv.host, srv.port, timeout=60, source_address=(source, 0) if source else None)
    except smtplib.SMTPConnectError as e:
        return e.smtp_code, e.smtp_error
    with s:
        s.ehlo("client.test")
        if login:
            s.starttls(context=no_verify_context())
            s.ehlo("client.test")
            s.login(*login)
        code, text = s.mail(sender)
        if code != 250:
            return code, text
        code, text = s.rcpt(f"user@{DOMAIN}")
        if code != 250:
            return code, text
        return s.data(data)


def delivered(srv, subject):
    def found():
        got = [m for m in srv.maildir_messages("user") if b"Subject: " + subject.encode() in m]
        return got[0] if got else None
    return wait_for(found, 20, what=f"'{subject}' delivered\n{srv.log_tail()}")


def without_received(stored):
    """The message as the client sent it plus what the milter added: rampart's own trace
    headers (Received, Return-Path) dropped, as a next hop's verifier would still see the
    signed fields unchanged."""
    head, _, body = stored.partition(b"\r\n\r\n")
    kept, skip = [], False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not skip:
                kept.append(line)
            continue
        skip = line.lower().startswith((b"received:", b"return-path:"))
        if not skip:
            kept.append(line)
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def test_opendkim_signs_mail_from_an_internal_client(rampart_factory, opendkim):
    srv = rampart_factory("dk", extra_config=milter_config(opendkim), listener_keys={"filters": True})
    code, text = send(srv, message("signed internal"), source=RELAY_IP)
    assert code == 250, text
    stored = delivered(srv, "signed internal")
    assert stored.startswith(b"DKIM-Signature:") or b"\r\nDKIM-Signature:" in stored, stored
    assert b"d=example.test" in stored and b"s=test" in stored, stored
    assert dkim.verify(stored, dnsfunc=opendkim.dns_txt), "python3-dkim verifies OpenDKIM's signature"


def test_opendkim_signs_mail_of_an_authenticated_user(rampart_factory, opendkim):
    srv = rampart_factory("dk", start=False, extra_config=milter_config(opendkim), listener_keys={"filters": True})
    text = srv.config_text().replace(
        'tls = "starttls"', 'tls = "starttls"\nauth = { basic = true }\npermissions = { submit = ["group:staff"] }', 1)
    srv.config_path.write_text(text)
    add_user(srv, "alice", "alice-secret", "staff")
    add_user(srv, "user", "user-secret")   # with a directory, the recipient must be in it
    srv.start()
    code, reply = send(srv, message("signed auth"), source=OUTSIDE_IP, login=("alice", "alice-secret"))
    assert code == 250, reply
    stored = delivered(srv, "signed auth")
    assert b"DKIM-Signature:" in stored, "signed for the authenticated user ({auth_authen}), not verified"
    assert dkim.verify(stored, dnsfunc=opendkim.dns_txt)
    # The same message from the same outside address without logging in is verified, not signed.
    code, reply = send(srv, message("unsigned anon"), source=OUTSIDE_IP, sender="someone@outside.test")
    assert code == 250, reply
    anon = delivered(srv, "unsigned anon")
    assert b"DKIM-Signature:" not in anon and f"Authentication-Results: {AUTHSERV_ID}".encode() in anon, anon


def test_opendkim_verifies_and_adds_authentication_results(rampart_factory, opendkim):
    srv = rampart_factory("dk", extra_config=milter_config(opendkim), listener_keys={"filters": True})
    code, text = send(srv, message("to verify"), source=RELAY_IP)
    assert code == 250, text
    signed = without_received(delivered(srv, "to verify"))
    # The same message comes back from outside (a list or a forwarder: another envelope sender).
    code, text = send(srv, signed, source=OUTSIDE_IP, sender="list@outside.test")
    assert code == 250, text
    stored = wait_for(lambda: next((m for m in srv.maildir_messages("user") if b"Subject: to verify" in m
                                    and f"[{OUTSIDE_IP}]".encode() in m), None), 20, what="the relayed copy")
    ar = [line for line in stored.split(b"\r\n") if line.startswith(b"Authentication-Results:")]
    assert ar and AUTHSERV_ID.encode() in ar[0] and b"dkim=pass" in stored, stored
    tampered = signed.replace(b"Hello, signed world.", b"Hello, tampered world.").replace(b"to verify", b"tampered")
    code, text = send(srv, tampered, source=OUTSIDE_IP, sender="list@outside.test")
    assert code == 250, text
    bad = delivered(srv, "tampered")
    assert b"dkim=fail" in bad or b"dkim=neutral" in bad or b"dkim=permerror" in bad, bad


def test_opendkim_killed_gives_451_nothing_lost_and_the_retry_succeeds(rampart_factory, opendkim):
    srv = rampart_factory("dk", extra_config=milter_config(opendkim), listener_keys={"filters": True})
    opendkim.kill()
    data = message("retried")
    code, text = send(srv, data, source=RELAY_IP)
    assert (code, text) == (451, b"4.7.1 message filter unavailable; try again later")
    assert srv.spool_count() == 0 and not srv.maildir_messages()
    errs = srv.log_events("milter.error")
    assert any(e["milter"] == "dkim" and "cannot connect" in e["error"] for e in errs), errs
    opendkim.start()
    code, text = send(srv, data, source=RELAY_IP)
    assert code == 250, text
    stored = delivered(srv, "retried")
    assert b"DKIM-Signature:" in stored and dkim.verify(stored, dnsfunc=opendkim.dns_txt)


def eicar_message(subject="infected"):
    att = base64.encodebytes(EICAR).replace(b"\n", b"\r\n")
    return (b"From: sender@outside.test\r\nTo: user@" + DOMAIN.encode() + b"\r\nSubject: " + subject.encode() +
            b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
            b"--XX\r\nContent-Type: text/plain\r\n\r\nsee the attachment\r\n"
            b"--XX\r\nContent-Type: application/octet-stream; name=\"e.com\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + att + b"--XX--\r\n")


def clean_message(subject="clean"):
    return (b"From: sender@outside.test\r\nTo: user@" + DOMAIN.encode() + b"\r\nSubject: " + subject.encode() +
            b"\r\n\r\nnothing to see\r\n")


def test_clamav_milter_rejects_eicar_naming_the_virus(rampart_factory, clamav_milter):
    srv = rampart_factory("cm", extra_config=milter_config(clamav_milter, "clamav"), listener_keys={"filters": True})
    code, text = send(srv, eicar_message(), sender="sender@outside.test")
    assert code == 550 and text.startswith(b"5.7.1") and EICAR_SIGNATURE.encode() in text, (code, text)
    code, text = send(srv, clean_message(), sender="sender@outside.test")
    assert code == 250, text
    delivered(srv, "clean")
    assert not [m for m in srv.maildir_messages() if b"Subject: infected" in m]


def test_clamav_milter_as_an_antivirus_engine(rampart_factory, clamav_milter):
    cfg = (f'[antivirus]\n[[antivirus.engines]]\nname = "clamav-milter"\ntype = "milter"\n'
           f'address = "{clamav_milter.address}"\ntimeout = "20s"\n')
    srv = rampart_factory("av", extra_config=cfg, listener_keys={"filters": True})
    code, text = send(srv, eicar_message(), sender="sender@outside.test")
    assert code == 554 and text.startswith(b"5.7.1 message refused: virus found:") and EICAR_SIGNATURE.encode() in text, \
        (code, text)
    code, text = send(srv, clean_message(), sender="sender@outside.test")
    assert code == 250, text
    delivered(srv, "clean")


def test_opendkim_killed_during_a_session_gives_451_and_the_retry_succeeds(rampart_factory, opendkim):
    srv = rampart_factory("dk", extra_config=milter_config(opendkim), listener_keys={"filters": True})
    data = message("mid session")
    with smtplib.SMTP(srv.host, srv.port, timeout=60, source_address=(RELAY_IP, 0)) as s:
        s.ehlo("client.test")
        assert s.mail("alice@example.test")[0] == 250
        assert s.rcpt(f"user@{DOMAIN}")[0] == 250   # the milter connection is open and in the message
        opendkim.kill()
        code, text = s.data(data)
        assert (code, text) == (451, b"4.7.1 message filter unavailable; try again later")
    assert srv.spool_count() == 0 and not srv.maildir_messages()
    errs = srv.log_events("milter.error")
    assert any(e["stage"] == "data" and e["milter"] == "dkim" for e in errs), errs
    opendkim.start()
    code, text = send(srv, data, source=RELAY_IP)
    assert code == 250, text
    stored = delivered(srv, "mid session")
    assert b"DKIM-Signature:" in stored and dkim.verify(stored, dnsfunc=opendkim.dns_txt)
