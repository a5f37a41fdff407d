"""The antivirus agent ([antivirus], DESIGN.md §11) against real clamd daemons with home-made
signature databases (clamd.py): an infected attachment is refused with 554 5.7.1 naming the
signature and nothing is delivered; a clean message is delivered; with two engines every one
must say clean; an engine that is down gives 451 4.7.1 and nothing is delivered or lost (the
client's retry after the engine is back is accepted); on_infected = "quarantine" holds the
message and "strip" replaces the infected part; on_error = "accept" lets mail through
unscanned and `rampart check` says so."""
import base64
import smtplib
import socket
import subprocess

import pytest

from clamd import EICAR, EICAR_SIGNATURE, MARKER, MARKER_SIGNATURE, Clamd
from conftest import DOMAIN, RAMPART_BIN, wait_for


@pytest.fixture
def clamd_factory():
    started = []

    def make(**kw):
        c = Clamd(**kw)
        started.append(c)
        return c.start()

    yield make
    for c in started:
        c.cleanup()


def antivirus_config(*engines, on_infected="reject", on_error=None, timeout="10s"):
    lines = ["[antivirus]", f'on_infected = "{on_infected}"']
    if on_error:
        lines.append(f'on_error = "{on_error}"')
    for i, c in enumerate(engines):
        lines += ["[[antivirus.engines]]", f'name = "clamav{i + 1}"', 'type = "clamd"', f'address = "{c.address}"',
                  f'timeout = "{timeout}"']
    return "\n".join(lines) + "\n"


def server(rampart_factory, *engines, **kw):
    return rampart_factory("av", extra_config=antivirus_config(*engines, **kw), listener_keys={"filters": True})


def infected_message(subject="infected"):
    att = base64.encodebytes(EICAR).replace(b"\n", b"\r\n")
    return (b"From: sender@outside.test\r\nTo: user@" + DOMAIN.encode() + b"\r\nSubject: " + subject.encode() +
            b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
            b"--XX\r\nContent-Type: text/plain\r\n\r\nsee the attachment\r\n"
            b"--XX\r\nContent-Type: application/octet-stream; name=\"e.com\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + att + b"--XX--\r\n")


def clean_message(subject="clean", body=b"hello, nothing to see here\r\n"):
    return (b"From: sender@outside.test\r\nTo: user@" + DOMAIN.encode() + b"\r\nSubject: " + subject.encode() +
            b"\r\n\r\n" + body)


def send(srv, data):
    """One transaction to user@DOMAIN -> (code, text) of the reply to the data."""
    with smtplib.SMTP(srv.host, srv.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail("sender@outside.test")[0] == 250
        code, text = s.rcpt(f"user@{DOMAIN}")
        assert code == 250, text
        return s.data(data)


def delivered(srv, n, subject):
    return wait_for(lambda: [m for m in srv.maildir_messages("user") if b"Subject: " + subject.encode() in m][:n]
                    if len([m for m in srv.maildir_messages("user") if b"Subject: " + subject.encode() in m]) >= n else None,
                    15, what=f"{n} message(s) '{subject}' delivered\n{srv.log_tail()}")


def test_infected_attachment_is_refused_naming_the_signature(rampart_factory, clamd_factory):
    clam = clamd_factory()
    srv = server(rampart_factory, clam)
    code, text = send(srv, infected_message())
    assert code == 554, text
    assert text.decode() == f"5.7.1 message refused: virus found: {EICAR_SIGNATURE}", text
    # A marker in a plain body (the .ndb signature) is found too.
    code, text = send(srv, clean_message("marker", b"x " + MARKER + b" y\r\n"))
    assert code == 554 and MARKER_SIGNATURE.encode() in text, text
    code, text = send(srv, clean_message("clean"))
    assert code == 250, text
    delivered(srv, 1, "clean")
    assert not [m for m in srv.maildir_messages() if b"Subject: infected" in m or b"Subject: marker" in m]
    assert srv.spool_count() == 0 or wait_for(lambda: srv.spool_count() == 0, 10, what="spool empty")
    verdicts = [e for e in srv.log_events("filter.verdict") if e.get("agent") == "antivirus" and e.get("verdict") == "refuse"]
    assert verdicts and verdicts[0]["rule"] == "antivirus.on_infected" and "clamav1" in verdicts[0]["reason"], verdicts


def test_engine_on_a_unix_socket(rampart_factory, clamd_factory):
    clam = clamd_factory(unix=True)
    srv = server(rampart_factory, clam)
    code, text = send(srv, infected_message())
    assert code == 554 and EICAR_SIGNATURE.encode() in text, text
    code, text = send(srv, clean_message())
    assert code == 250, text


def test_every_engine_must_say_clean(rampart_factory, clamd_factory):
    knows = clamd_factory()
    knows_nothing = clamd_factory(signatures=False)
    srv = server(rampart_factory, knows_nothing, knows)
    code, text = send(srv, infected_message())
    assert code == 554 and EICAR_SIGNATURE.encode() in text, text
    verdicts = [e for e in srv.log_events("filter.verdict") if e.get("agent") == "antivirus"]
    assert "engine clamav2 found" in verdicts[-1]["reason"], verdicts
    code, text = send(srv, clean_message())
    assert code == 250, text
    delivered(srv, 1, "clean")


def test_engine_down_fails_closed_and_the_retry_is_accepted(rampart_factory, clamd_factory):
    clam = clamd_factory()
    srv = server(rampart_factory, clam)
    clam.kill()
    data = clean_message("retried")
    code, text = send(srv, data)
    assert code == 451, text
    assert text.decode() == "4.7.1 virus scan unavailable; try again later", text
    errors = [e for e in srv.log_events("antivirus.engine_error")]
    assert errors and errors[0]["engine"] == "clamav1" and "cannot connect" in errors[0]["error"], errors
    assert srv.spool_count() == 0, "nothing kept: the client still has the message"
    assert not srv.maildir_messages()
    # The client retries later, once the engine is back: the same message goes through.
    clam.start()
    code, text = send(srv, data)
    assert code == 250, text
    [stored] = delivered(srv, 1, "retried")
    assert stored.endswith(data)


def test_quarantine_instead_of_reject(rampart_factory, clamd_factory):
    clam = clamd_factory()
    srv = server(rampart_factory, clam, on_infected="quarantine")
    code, text = send(srv, infected_message("held"))
    assert code == 250, text
    r = subprocess.run([RAMPART_BIN, "quarantine", "list", "-c", str(srv.config_path)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0 and "1 message" in r.stdout, r.stdout + r.stderr
    qid = r.stdout.splitlines()[1].split()[0]
    [listed_why] = [line for line in r.stdout.splitlines() if line.strip().startswith("quarantine:")]
    assert "antivirus" in listed_why, r.stdout   # the list says who held it and why
    r = subprocess.run([RAMPART_BIN, "quarantine", "show", qid, "-c", str(srv.config_path)], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    [why] = [line for line in r.stdout.splitlines() if line.startswith("quarantine:")]
    assert "antivirus" in why and EICAR_SIGNATURE in why, r.stdout
    assert not srv.maildir_messages()


def test_on_error_accept_lets_mail_through_and_check_reports_it(rampart_factory, clamd_factory):
    clam = clamd_factory()
    srv = server(rampart_factory, clam, on_error="accept")
    clam.kill()
    code, text = send(srv, clean_message("unscanned"))
    assert code == 250, text
    delivered(srv, 1, "unscanned")
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(srv.config_path)], capture_output=True, text=True, timeout=20)
    assert "[antivirus]" in r.stdout and 'EXPOSURE  on_error = "accept" (default "tempfail")' in r.stdout, r.stdout
    # The default (tempfail) is no exposure.
    # (and without the test servers' run_as_root = true, itself an exposure)
    tempfail = srv.config_path.read_text().replace('on_error = "accept"\n', "").replace("run_as_root = true\n", "")
    cfg = srv.config_path.parent / "tempfail.toml"
    cfg.write_text(tempfail)
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(cfg)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and "[antivirus]" not in r.stdout and "EXPOSURE" not in r.stdout, r.stdout


def test_message_over_stream_max_length_fails_closed(rampart_factory, clamd_factory):
    clam = clamd_factory(stream_max_length="1M")
    srv = server(rampart_factory, clam)
    big = clean_message("big", (b"x" * 998 + b"\r\n") * 2100)   # about 2 MiB
    code, text = send(srv, big)
    assert code == 451 and text.startswith(b"4.7.1"), text
    [err] = srv.log_events("antivirus.engine_error")
    assert err["engine"] == "clamav1", err
    # clamd says why before closing; if the reset beats its reply, the failed send is the error.
    assert "INSTREAM size limit exceeded" in err["error"] or "sending the message to clamd failed" in err["error"], err
    assert srv.spool_count() == 0 and not srv.maildir_messages()


class SilentEngine:
    """A hostile engine: accepts connections (the kernel's backlog does) and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"


def test_engine_silent_past_its_timeout_fails_closed(rampart_factory):
    silent = SilentEngine()
    try:
        srv = server(rampart_factory, silent, timeout="1s")
        code, text = send(srv, clean_message())
        assert code == 451 and text == b"4.7.1 virus scan unavailable; try again later", text
        [err] = srv.log_events("antivirus.engine_error")
        assert err["engine"] == "clamav1" and "no verdict from clamd within 1000 ms" in err["error"], err
        assert srv.spool_count() == 0 and not srv.maildir_messages()
    finally:
        silent.sock.close()


def test_strip_replaces_the_infected_part_and_rejects_what_cannot_be_cleaned(rampart_factory, clamd_factory):
    clam = clamd_factory()
    srv = server(rampart_factory, clam, on_infected="strip")
    code, text = send(srv, infected_message("stripped"))
    assert code == 250, text
    [stored] = delivered(srv, 1, "stripped")
    assert EICAR not in stored and base64.b64encode(EICAR)[:40] not in stored, stored
    assert b"see the attachment" in stored, "the clean part is kept"
    assert b'The antivirus removed an attachment ("e.com")' in stored and EICAR_SIGNATURE.encode() in stored, stored
    assert stored.rstrip().endswith(b"--XX--"), "the MIME structure is kept"
    ev = srv.log_events("antivirus.stripped")
    assert ev and EICAR_SIGNATURE in ev[0]["parts"], ev
    # A virus in the only part cannot be stripped: rejected instead.
    code, text = send(srv, clean_message("marker", b"x " + MARKER + b" y\r\n"))
    assert code == 554 and MARKER_SIGNATURE.encode() in text, text
