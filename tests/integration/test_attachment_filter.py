"""The attachment filter end to end (issue 10): a Windows executable named invoice.pdf and
declared application/pdf is caught by its sniffed type. reject: the client reads 554 5.7.1
naming the file; strip: the delivered message carries a text notice instead of the
executable and the other parts byte for byte; silent-delete: 250, nothing delivered."""
import base64
import email
import smtplib

import pytest

from conftest import DOMAIN, wait_for

MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + bytes(range(64))
MZ_B64 = base64.b64encode(MZ).decode()
RCPT = f"postmaster@{DOMAIN}"


def message(subject, exe=True):
    body = ("Hello, the invoice is attached.\r\n")
    photo = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(200))).decode()
    parts = [
        f"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}",
        f"--b\r\nContent-Type: image/png; name=\"photo.png\"\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; filename=\"photo.png\"\r\n\r\n{photo}\r\n",
    ]
    if exe:
        parts.append(f"--b\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n"
                     f"Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n\r\n{MZ_B64}\r\n")
    return (f"From: sender@outside.test\r\nTo: {RCPT}\r\nSubject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}@t>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" + "".join(parts) + "--b--\r\n")


def server(rampart_factory, action):
    return rampart_factory(action, listener_keys={"filters": True},
                           extra_config=f'[attachment_filter]\naction = "{action}"\n')


def delivered(srv, n):
    return wait_for(lambda: len(srv.maildir_messages("postmaster")) >= n and srv.maildir_messages("postmaster"),
                    timeout=20, what="delivery to postmaster\n" + srv.log_tail())


def test_reject_names_the_file(rampart_factory):
    srv = server(rampart_factory, "reject")
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("sender@outside.test", [RCPT], message("reject me"))
    assert e.value.smtp_code == 554
    assert e.value.smtp_error.decode() == "5.7.1 message refused: attachment invoice.pdf is not allowed"
    [v] = [x for x in srv.log_events("filter.verdict") if x.get("agent") == "attachment_filter"]
    assert v["verdict"] == "refuse" and v["rule"] == "attachment_filter.types", v
    assert "sniffed type application/x-dosexec" in v["reason"], v


def test_strip_delivers_the_rest_unchanged(rampart_factory):
    srv = server(rampart_factory, "strip")
    sent = message("strip me")
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("sender@outside.test", [RCPT], sent)
    [got] = delivered(srv, 1)
    assert MZ_B64.encode() not in got
    # Everything up to the stripped part is as sent (after the trace fields rampart adds).
    head, stripped = sent.split("--b\r\nContent-Type: application/pdf", 1)
    body_start = head.index("From: sender@outside.test")
    assert head[body_start:].encode() in got
    assert got.endswith(b"--b--\r\n")
    m = email.message_from_bytes(got)
    parts = m.get_payload()
    assert [p.get_content_type() for p in parts] == ["text/plain", "image/png", "text/plain"]
    assert parts[1].get_payload(decode=True).startswith(b"\x89PNG")
    notice = parts[2].get_payload(decode=True).decode()
    assert "The attachment invoice.pdf was removed" in notice and "application/x-dosexec" in notice, notice


def test_silent_delete_accepts_and_delivers_nothing(rampart_factory):
    srv = server(rampart_factory, "silent-delete")
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("sender@outside.test", [RCPT], message("delete me"))   # 250: no exception
        c.sendmail("sender@outside.test", [RCPT], message("clean one", exe=False))
    # The clean message sent after it is delivered; the deleted one never is.
    [got] = delivered(srv, 1)
    assert b"Subject: clean one" in got
    wait_for(lambda: srv.spool_count() == 0, timeout=20, what="the spool to empty\n" + srv.log_tail())
    assert len(srv.maildir_messages("postmaster")) == 1
    [v] = [x for x in srv.log_events("filter.verdict") if x.get("agent") == "attachment_filter" and x["verdict"] != "continue"]
    assert v["verdict"] == "discard" and "invoice.pdf" in v["reason"], v
