"""Sender reputation (issue 9, protocol analysis): a client that forges its HELO, talks
before the banner and pipelines without PIPELINING climbs to level 9 and is then blocked at
connect through the dynamic block list (`rampart block list`: source "reputation");
addresses in [connection_filter] allow never are. Spam the content filter (a real rspamd)
scores counts too: two GTUBE messages block the sender."""
import json
import smtplib
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, RawSMTP, wait_for
from rspamd import GTUBE, Rspamd

REPUTATION = """[connection_filter]
allow = ["127.0.0.10/32"]

[reputation]
block_at = 9
greeting_delay = "1s"
"""


def block_cli(srv, *args):
    return subprocess.run([RAMPART_BIN, "block", *args, "-c", str(srv.config_path)], capture_output=True, text=True,
                          timeout=30)


def levels(srv, client):
    return [int(e["level"]) for e in srv.log_events("reputation.level") if e.get("client") == client]


def forge_helo(srv, source):
    """EHLO with this server's own name, then MAIL (where the forgery is counted)."""
    with RawSMTP(srv.host, srv.port, source_address=(source, 0)) as c:
        assert c.read_reply()[0] == 220
        assert c.cmd(f"EHLO {srv.hostname}")[0] == 250
        assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
        c.cmd("QUIT")


def pregreet(srv, source):
    """EHLO sent before the banner (the server waits greeting_delay before sending it)."""
    with RawSMTP(srv.host, srv.port, source_address=(source, 0)) as c:
        c.send("EHLO client.test\r\n")
        assert c.read_reply()[0] == 220
        assert c.read_reply()[0] == 250
        c.cmd("QUIT")


def pipeline_after_helo(srv, source):
    """HELO (no PIPELINING offered), then MAIL and RCPT in one write."""
    with RawSMTP(srv.host, srv.port, source_address=(source, 0)) as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("HELO client.test")[0] == 250
        c.send(f"MAIL FROM:<a@outside.test>\r\nRCPT TO:<postmaster@{DOMAIN}>\r\n")
        c.read_reply()
        c.read_reply()
        c.cmd("QUIT")


def greeting(srv, source):
    with RawSMTP(srv.host, srv.port, source_address=(source, 0)) as c:
        return c.read_line().decode()


def test_forgery_pregreet_and_pipelining_lead_to_a_block_at_connect(rampart_factory):
    srv = rampart_factory(extra_config=REPUTATION, listener_keys={"filters": True})
    bad = "127.0.0.9"
    forge_helo(srv, bad)
    wait_for(lambda: levels(srv, bad) == [3], what="level 3 after a forged HELO")
    pregreet(srv, bad)
    wait_for(lambda: levels(srv, bad) == [3, 7], what="level 7 after a pregreet")
    assert srv.log_events("smtp.pregreet")[-1]["client"] == bad
    assert greeting(srv, bad).startswith("220 ")          # not yet: block_at = 9
    pipeline_after_helo(srv, bad)
    wait_for(lambda: levels(srv, bad) == [3, 7, 9], what="level 9 after pipelining")
    blocked = wait_for(lambda: srv.log_events("reputation.blocked"), what="reputation.blocked")
    assert blocked[0]["client"] == bad

    assert greeting(srv, bad).startswith(f"550 5.7.1 client {bad} is blocked until ")
    assert greeting(srv, "127.0.0.11").startswith("220 ")   # only that address
    r = block_cli(srv, "list", "--json")
    assert r.returncode == 0, r.stderr
    [entry] = json.loads(r.stdout)
    assert entry["prefix"] == f"{bad}/32" and entry["source"] == "reputation"
    assert entry["reason"].startswith("reputation level 9: "), entry
    assert "helo_forgery" in entry["reason"] and "pregreet" in entry["reason"] and "pipelining" in entry["reason"]
    assert entry["expires"] is not None
    r = block_cli(srv, "list")
    assert "reputation level 9" in r.stdout and "reputation" in r.stdout


def test_allowed_addresses_are_never_blocked(rampart_factory):
    srv = rampart_factory(extra_config=REPUTATION, listener_keys={"filters": True})
    friend = "127.0.0.10"   # in [connection_filter] allow
    for _ in range(3):
        forge_helo(srv, friend)
        pipeline_after_helo(srv, friend)
    assert greeting(srv, friend).startswith("220 ")
    assert levels(srv, friend) == []
    assert srv.log_events("smtp.helo.forged")             # seen and logged, just not counted
    assert "the block list is empty" in block_cli(srv, "list").stdout


@pytest.fixture(scope="module")
def rspamd(tmp_path_factory):
    r = Rspamd(tmp_path_factory.mktemp("rspamd")).start()
    yield r
    r.stop()


def test_spam_history_blocks_the_sender(rampart_factory, rspamd):
    srv = rampart_factory(extra_config=f"""[connection_filter]

[content_filter]
address = "{rspamd.address}"
timeout = "20s"
""", listener_keys={"filters": True})
    spammer = "127.0.0.12"
    gtube = (b"From: <x@spam.test>\r\nTo: <user@" + DOMAIN.encode() + b">\r\nSubject: offer\r\n\r\nbuy now\r\n" +
             GTUBE + b"\r\n")
    for expected_level in (5, 9):   # SCL 9 is 5 points each (SCL - 4)
        with smtplib.SMTP(srv.host, srv.port, timeout=60, source_address=(spammer, 0)) as c:
            c.ehlo("mail.spam.test")
            c.mail("x@spam.test")
            c.rcpt(f"user@{DOMAIN}")
            code, text = c.data(gtube)
            assert code == 550 and b"SCL 9" in text, text
        wait_for(lambda: expected_level in levels(srv, spammer), what=f"level {expected_level}")
    assert greeting(srv, spammer).startswith(f"550 5.7.1 client {spammer} is blocked until ")
    [entry] = json.loads(block_cli(srv, "list", "--json").stdout)
    assert entry["source"] == "reputation" and "scl_points 10" in entry["reason"], entry
