"""Role presets on a live server: scenario (d) — a remote worker in `remote-workers` relays
through an authenticated submission listener — and the anonymous authoritative-sender check
(DESIGN.md §3.6) on an internet-facing listener."""
import smtplib
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, RELAY_IP, SOCK_TIMEOUT, free_port, no_verify_context, wait_for
from policy_setup import add_user, configure


@pytest.fixture
def gateway(rampart_factory, sink):
    """Gateway role: the "internet" listener (smtp preset, relay list RELAY_IP) and a
    "submission" listener (submission preset) where group remote-workers may relay."""
    srv = rampart_factory(start=False)
    configure(srv, "gateway", [
        ("internet", free_port(), f'relay = {{ list = ["{RELAY_IP}/32"] }}'),
        ("submission", free_port(), 'preset = "submission"\npermissions = { relay = ["group:remote-workers"] }'),
    ], smarthost_port=sink.port, extra='[[domains]]\nname = "branch.test"\ntype = "internal-relay"\n\n'
                                       '[[domains]]\nname = "partner.test"\ntype = "external-relay"\n')
    add_user(srv, "carol", "carol-secret", "remote-workers")
    add_user(srv, "dave", "dave-secret")
    srv.start()
    srv.submission_port = srv.extra_listeners[0][1]
    return srv


def submission(srv):
    c = smtplib.SMTP(srv.host, srv.submission_port, timeout=SOCK_TIMEOUT)
    c.ehlo("laptop.test")
    return c


def test_remote_worker_relays_through_submission(gateway, sink):
    with submission(gateway) as c:
        assert not c.has_extn("auth"), "passwords only after TLS"
        c.starttls(context=no_verify_context())
        c.ehlo("laptop.test")
        assert "PLAIN" in c.esmtp_features["auth"]
        c.user, c.password = "carol", "carol-secret"
        code, _ = c.auth("PLAIN", c.auth_plain)
        assert code == 235
        c.sendmail(f"carol@{DOMAIN}", ["partner@outside.test"], "Subject: from home\r\n\r\nhello\r\n")
    [m] = wait_for(lambda: sink.messages(), timeout=20, what="relayed message at the sink")
    assert m["mail_from"] == f"carol@{DOMAIN}" and m["rcpt_tos"] == ["partner@outside.test"]
    r = subprocess.run([RAMPART_BIN, "explain", "-c", str(gateway.config_path), "--listener", "submission",
                        "--client-ip", "127.0.0.1", "--tls", "--user", "carol", "--mail-from", f"carol@{DOMAIN}",
                        "--rcpt", "partner@outside.test"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and "[decided by permissions.relay]" in r.stdout, r.stdout


def test_user_outside_the_group_may_not_send_on_submission(gateway):
    with submission(gateway) as c:
        c.starttls(context=no_verify_context())
        c.ehlo("laptop.test")
        c.user, c.password = "dave", "dave-secret"
        assert c.auth("PLAIN", c.auth_plain)[0] == 235
        code, msg = c.mail(f"dave@{DOMAIN}")
        assert code == 550 and b"5.7.1" in msg, msg


def test_submission_refuses_anonymous_clients(gateway):
    with submission(gateway) as c:
        code, msg = c.mail("someone@outside.test")
        assert (code, msg) == (530, b"5.7.0 authentication required")


def test_smtp_listener_offers_no_passwords(gateway):
    with smtplib.SMTP(gateway.host, gateway.port, timeout=SOCK_TIMEOUT) as c:
        c.ehlo("client.test")
        c.starttls(context=no_verify_context())
        c.ehlo("client.test")
        assert not c.has_extn("auth")


def test_anonymous_authoritative_sender_refused_on_internet_listener(gateway):
    with smtplib.SMTP(gateway.host, gateway.port, timeout=SOCK_TIMEOUT, source_address=("127.0.0.1", 0)) as c:
        c.ehlo("forger.test")
        code, msg = c.mail(f"ceo@{DOMAIN}")
        assert code == 550 and msg.startswith(b"5.7.1 anonymous sender in an authoritative domain"), msg
        assert c.mail("someone@outside.test")[0] == 250          # other senders still welcome
        assert c.rcpt(f"carol@{DOMAIN}")[0] == 250
    [ev] = [e for e in gateway.log_events("smtp.mail.refused") if e.get("rule") == "internet_facing"]
    assert ev["from"] == f"ceo@{DOMAIN}" and ev["code"] == "550", ev
    r = subprocess.run([RAMPART_BIN, "explain", "-c", str(gateway.config_path), "--listener", "internet",
                        "--client-ip", "127.0.0.1", "--mail-from", f"ceo@{DOMAIN}", "--rcpt", f"carol@{DOMAIN}"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r.stdout
    assert "[decided by internet_facing]" in r.stdout and "anonymous sender in an authoritative domain" in r.stdout, r.stdout


def test_anonymous_internal_relay_sender_refused_but_partner_domain_welcome(gateway):
    # Internal-relay domains are the organisation's own too; external-relay ones a partner's.
    with smtplib.SMTP(gateway.host, gateway.port, timeout=SOCK_TIMEOUT, source_address=("127.0.0.1", 0)) as c:
        c.ehlo("forger.test")
        code, msg = c.mail("cfo@branch.test")
        assert code == 550 and msg.startswith(b"5.7.1 anonymous sender in an internal-relay domain"), msg
        code, msg = c.mail("buyer@partner.test")
        assert code == 250, msg


def test_anonymous_authoritative_sender_accepted_from_relay_list(gateway, sink):
    with smtplib.SMTP(gateway.host, gateway.port, timeout=SOCK_TIMEOUT, source_address=(RELAY_IP, 0)) as c:
        c.ehlo("printer.test")
        c.sendmail(f"scanner@{DOMAIN}", ["someone@outside.test"], "Subject: scan\r\n\r\nscan\r\n")
    wait_for(lambda: sink.messages(), timeout=20, what="message from the relay-list device")


def test_internal_listener_accepts_authoritative_senders(rampart_factory):
    srv = rampart_factory(start=False)
    configure(srv, "gateway", [("inside", free_port(), 'internet_facing = false')])
    srv.start()
    with smtplib.SMTP(srv.host, srv.port, timeout=SOCK_TIMEOUT) as c:
        c.ehlo("app.test")
        assert c.mail(f"app@{DOMAIN}")[0] == 250
        assert c.rcpt(f"alice@{DOMAIN}")[0] == 250
