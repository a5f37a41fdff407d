"""Transport rules end to end (issue 10, DESIGN.md §5 and §11 [[transport_rules]]): the real
binary with ordered rules on a filtered listener. Outside mail gets "[EXTERNAL] " before its
subject; a bcc copy and a redirect are envelope edits delivered to other mailboxes; a reject
answers the configured code and text; a drop answers 250 and delivers nothing; a quarantine
holds the message and `rampart quarantine list` names the rule; `rampart explain --message`
runs an .eml through the same rules and prints the rule that matched and why.
Every test fails without transport rules: the configuration would not even load."""
import email
import email.header
import smtplib
import subprocess
from pathlib import Path

import pytest

from conftest import RAMPART_BIN, wait_for

MESSAGES = Path(__file__).parent / "messages"

RULES = '''
[[transport_rules]]
name = "tag outside mail"
from_scope = "outside"
prepend_subject = "[EXTERNAL] "

[[transport_rules]]
name = "audit copies"
to = ["ceo@example.test"]
bcc = ["audit@example.test"]

[[transport_rules]]
name = "to the archive"
to = ["old@example.test"]
redirect = ["archive@example.test"]

[[transport_rules]]
name = "no lottery"
subject_contains = ["lottery"]
reject = { code = 554, status = "5.7.1", text = "lottery mail is not accepted here" }

[[transport_rules]]
name = "drop newsletters"
header_contains = { name = "List-Id", words = ["spam-news"] }
drop = true

[[transport_rules]]
name = "hold macro documents"
attachment_name = ["*.docm"]
quarantine = true
'''


@pytest.fixture
def srv(rampart_factory):
    return rampart_factory("rules", listener_keys={"filters": True}, extra_config=RULES)


def message(subject, to="user@example.test", extra=""):
    return (f"From: sender@outside.test\r\nTo: {to}\r\nSubject: {subject}\r\n{extra}"
            f"Message-ID: <{subject.replace(' ', '-')}@t>\r\n\r\nHello.\r\n")


def delivered(srv, local, n=1):
    return wait_for(lambda: srv.maildir_messages(local) if len(srv.maildir_messages(local)) >= n else None,
                    timeout=20, what=f"delivery to {local}\n" + srv.log_tail())


def subject_of(raw):
    m = email.message_from_bytes(raw)
    return str(email.header.make_header(email.header.decode_header(m["Subject"])))


def test_outside_mail_gets_the_subject_prefix(srv):
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("sender@outside.test", ["user@example.test"], message("Quarterly report"))
        # An encoded-word subject keeps decoding, with the prefix before it.
        c.sendmail("sender@outside.test", ["user@example.test"],
                   message("=?UTF-8?B?R3LDvMOfZSBhdXMgWsO8cmljaA==?="))
    got = delivered(srv, "user", 2)
    assert sorted(subject_of(m) for m in got) == ["[EXTERNAL] Grüße aus Zürich", "[EXTERNAL] Quarterly report"]
    matches = [e for e in srv.log_events("transport_rules.match") if e.get("rule") == "tag outside mail"]
    assert len(matches) == 2 and all("not authenticated" in m["why"] for m in matches), matches


def test_bcc_copy_goes_to_a_second_mailbox(srv):
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("sender@outside.test", ["ceo@example.test"], message("board minutes", to="ceo@example.test"))
    [to_ceo] = delivered(srv, "ceo")
    [copy] = delivered(srv, "audit")
    assert subject_of(copy) == "[EXTERNAL] board minutes"
    assert b"To: ceo@example.test" in copy   # headers unchanged: a blind copy
    assert to_ceo.split(b"\r\n\r\n", 1)[1] == copy.split(b"\r\n\r\n", 1)[1]


def test_redirect_replaces_the_recipients(srv):
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("sender@outside.test", ["old@example.test"], message("for the old box", to="old@example.test"))
    [got] = delivered(srv, "archive")
    assert subject_of(got) == "[EXTERNAL] for the old box"
    [removed] = srv.log_events("filter.recipient.removed")
    assert removed["rcpt"] == "old@example.test", removed
    assert not srv.maildir_messages("old")


def test_reject_answers_the_configured_reply(srv):
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("sender@outside.test", ["user@example.test"], message("You won the LOTTERY"))
    assert e.value.smtp_code == 554
    assert e.value.smtp_error.decode() == "5.7.1 lottery mail is not accepted here"
    [v] = [x for x in srv.log_events("filter.verdict") if x.get("agent") == "transport_rules"]
    assert v["verdict"] == "refuse" and v["rule"] == "transport_rules.no lottery", v
    assert "subject_contains" in v["reason"], v


def test_drop_answers_250_and_delivers_nothing(srv):
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("sender@outside.test", ["user@example.test"], message("weekly news", extra="List-Id: <spam-news.outside.test>\r\n"))
        c.sendmail("sender@outside.test", ["user@example.test"], message("a real one"))
    [got] = delivered(srv, "user")   # the message sent after the dropped one arrives; the dropped one never does
    assert subject_of(got) == "[EXTERNAL] a real one"
    [t] = [x for x in srv.log_events("smtp.transaction") if x.get("result") == "discarded"]
    assert "transport_rules:discard" in t.get("filters", ""), t


def test_quarantine_is_listed_with_the_rule(srv):
    eml = (MESSAGES / "invoice_docm.eml").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("billing@outside.test", ["user@example.test"], eml)
    r = subprocess.run([RAMPART_BIN, "quarantine", "list", "-c", str(srv.config_path)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0 and "1 message" in r.stdout, r.stdout + r.stderr
    [why] = [line for line in r.stdout.splitlines() if line.strip().startswith("quarantine:")]
    assert "transport_rules" in why and "hold macro documents" in why and "invoice.docm" in why, r.stdout
    assert not srv.maildir_messages()


def explain(srv, *extra):
    args = [RAMPART_BIN, "explain", "-c", str(srv.config_path), "--listener", "default", "--client-ip", "127.0.0.1",
            "--mail-from", "billing@outside.test", "--rcpt", "user@example.test", *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=20)


def test_explain_message_prints_the_matching_rule(srv):
    r = explain(srv, "--message", str(MESSAGES / "invoice_docm.eml"))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [l for l in r.stdout.splitlines() if l.startswith("  filter transport_rules ")]
    assert len(lines) == 1, r.stdout
    assert lines[0].startswith("  filter transport_rules transport_rules.hold macro documents  quarantine  "), r.stdout
    assert 'rule "tag outside mail" matched (from_scope outside' in lines[0], r.stdout
    assert ('rule "hold macro documents" matched (attachment_name: "invoice.docm" name matches *.docm): quarantine'
            in lines[0]), r.stdout
    assert "  Subject after the filters: [EXTERNAL] Your invoice\n" in r.stdout, r.stdout
    assert "=> quarantined" in r.stdout and "[decided by filter transport_rules transport_rules.hold macro documents]" in r.stdout
    # Without --message, explain stops before the end of data and says so.
    r = explain(srv)
    assert r.returncode == 0 and "filter transport_rules" not in r.stdout, r.stdout
    assert "no --message FILE: explain stops before the end of data" in r.stdout, r.stdout


def test_explain_message_shows_a_reject_like_live(srv, tmp_path):
    eml = tmp_path / "lottery.eml"
    eml.write_text("From: x@outside.test\nSubject: Lottery winner\n\nClaim now.\n")
    r = explain(srv, "--message", str(eml))
    assert r.returncode == 1, r.stdout
    assert "  => 554 5.7.1 lottery mail is not accepted here   [decided by filter transport_rules transport_rules.no lottery]" in r.stdout
    assert "message refused at the end of data" in r.stdout
    r = explain(srv, "--message", str(tmp_path / "missing.eml"))
    assert r.returncode == 2 and "--message: cannot read" in r.stderr
