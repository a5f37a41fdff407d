"""What a hostile next hop can do to the delivery side (issue 14), against the real binary.

The next hops are tests/integration/hostile_peer.py servers on 127.0.0.1 (port 0), used as
smart hosts, so no DNS is involved. Every wait is bounded; nothing asserts on time: the
configured timeouts are small so that a fixed rampart finishes well inside the bounds, and
an unfixed one never does (it waits on the peer for as long as the peer likes).
"""
import smtplib

import pytest

from conftest import DOMAIN, RELAY_IP, SOCK_TIMEOUT, queued_id, wait_for
from hostile_peer import HostilePeer, close_wait_sockets, rss_kib, socket_fds

RSS_BOUND_KIB = 200 * 1024   # generous: rampart idles at some 16 MB


@pytest.fixture
def peers():
    started = []

    def make(*args, **kw):
        p = HostilePeer(*args, **kw).start()
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


def send(r, rcpt, source=RELAY_IP):
    with smtplib.SMTP(r.host, r.port, timeout=SOCK_TIMEOUT, source_address=(source, 0)) as s:
        s.ehlo("client.test")
        code, text = s.mail("sender@" + DOMAIN)
        assert code == 250, text
        code, text = s.rcpt(rcpt)
        assert code == 250, text
        code, text = s.data(f"From: sender@{DOMAIN}\r\nTo: {rcpt}\r\nSubject: hostile\r\n\r\nHello.\r\n".encode())
        assert code == 250, text
        return queued_id(text)


def events(r, name, qid=None):
    return [e for e in r.log_events(name) if qid is None or e.get("qid") == qid]


def first_attempt(r, qid, timeout=60):
    return wait_for(lambda: events(r, "delivery.attempt", qid), timeout,
                    what=f"a delivery.attempt for {qid}\n{r.log_tail()}")[0]


def test_ehlo_flood_fails_the_attempt_and_memory_stays_bounded(rampart_factory, peers):
    """An endless `250-X` EHLO reply: the attempt fails (reply_lines), the message is deferred,
    and rampart's memory stays far below the GBs it once grew to."""
    peer = peers("flood")
    r = rampart_factory(smarthost_port=peer.port, retry_interval="1h")
    before = rss_kib(r.proc.pid)
    qid = send(r, "victim@outside.test")
    ev = first_attempt(r, qid)
    assert ev["result"] == "deferred", ev
    [limit] = wait_for(lambda: events(r, "delivery.peer.limit", qid), 15, what="delivery.peer.limit")
    assert limit["limit"] == "reply_lines", limit
    after = rss_kib(r.proc.pid)
    print(f"rampart VmRSS before {before} KiB, after the EHLO flood {after} KiB; peer sent {peer.snapshot()[0].sent_bytes} bytes")
    assert after < RSS_BOUND_KIB, (before, after)
    # rampart hung up on the flood: the peer's writes failed.
    wait_for(lambda: all(c.ended for c in peer.snapshot()), 30, what="the peer to see the connection closed")
    assert all(c.ended == "closed by client" for c in peer.snapshot()), [c.ended for c in peer.snapshot()]
    assert r.running()


@pytest.mark.parametrize("delivery,limit", [('greeting_timeout = "2s"', "reply_timeout"),
                                            ('attempt_timeout = "2s"', "attempt_timeout")])
def test_trickling_greeting_is_cut_off(rampart_factory, peers, delivery, limit):
    """One greeting line a second never completes the 220 reply. The per-reply timeout (RFC 5321
    §4.5.3.2.1) and the whole-attempt deadline each end the attempt; before, every new line
    restarted a 5-minute read timeout and the attempt never ended."""
    peer = peers("trickle", interval=0.5)
    r = rampart_factory(smarthost_port=peer.port, retry_interval="1h", extra_config="[delivery]\n" + delivery)
    qid = send(r, "victim@outside.test")
    ev = first_attempt(r, qid)
    assert ev["result"] == "deferred", ev
    [lim] = wait_for(lambda: events(r, "delivery.peer.limit", qid), 15, what="delivery.peer.limit")
    assert lim["limit"] == limit, lim
    wait_for(lambda: all(c.ended for c in peer.snapshot()), 30, what="the peer to see the connection closed")


def test_trickling_next_hops_do_not_hold_up_local_delivery(rampart_factory, peers):
    """delivery_concurrency = 3 and three messages stuck on trickling next hops: local mail is
    still delivered (its own lane), instead of waiting for a free slot."""
    peer = peers("trickle", interval=1.0)
    r = rampart_factory(smarthost_port=peer.port, retry_interval="1h", queue={"delivery_concurrency": 3})
    stuck = [send(r, f"victim{i}@outside{i}.test") for i in range(3)]
    wait_for(lambda: len(peer.snapshot()) >= 3, 30, what="three connections to the trickling peer")
    local = send(r, f"alice@{DOMAIN}")
    wait_for(lambda: r.maildir_messages("alice"), 20, what=f"local delivery of {local}\n{r.log_tail()}")
    # The remote attempts are still going (their 5-minute reply timeout is far away).
    assert not any(events(r, "delivery.attempt", q) for q in stuck)


def test_idle_pooled_connection_is_closed_with_quit(rampart_factory, peers):
    """After a delivery the connection waits in the pool; after idle_connection_timeout it is
    closed with QUIT (before: it stayed open and idle, and no QUIT was ever sent)."""
    peer = peers("smtp")
    r = rampart_factory(smarthost_port=peer.port, retry_interval="1h",
                        extra_config='[delivery]\nidle_connection_timeout = "1s"')
    qid = send(r, "friend@outside.test")
    assert first_attempt(r, qid)["result"] == "delivered"
    [conn] = peer.snapshot()
    wait_for(lambda: conn.ended, 30, what=f"the pooled connection to be closed\n{r.log_tail()}")
    assert conn.quit_seen and conn.ended == "quit", (conn.ended, conn.commands)
    assert conn.commands[-1] == "QUIT"


def test_connection_closed_by_the_peer_leaves_no_close_wait(rampart_factory, peers):
    """The peer closes its side of a pooled connection. rampart notices and closes its socket,
    although the idle timeout is far away: no socket stays in CLOSE-WAIT, and the
    descriptor count comes back down."""
    peer = peers("smtp", close_after_data=True)
    r = rampart_factory(smarthost_port=peer.port, retry_interval="1h",
                        extra_config='[delivery]\nidle_connection_timeout = "1h"')
    sockets_before = socket_fds(r.proc.pid)
    qid = send(r, "friend@outside.test")
    assert first_attempt(r, qid)["result"] == "delivered"
    wait_for(lambda: all(c.ended for c in peer.snapshot()), 30, what="the peer to close")
    wait_for(lambda: close_wait_sockets(peer.port) == 0, 30,
             what=f"rampart's CLOSE-WAIT sockets towards {peer.port} to go\n{r.log_tail()}")
    wait_for(lambda: socket_fds(r.proc.pid) <= sockets_before, 30, what="rampart's socket count to come back down")
    closed = wait_for(lambda: events(r, "delivery.connection.closed"), 15, what="delivery.connection.closed")
    assert "closed by the peer" in closed[0]["reason"], closed
