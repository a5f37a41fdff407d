"""Durability: a 250 after DATA means the message is on disk (RFC 5321 §4.1.1.4, §6.1).

Relayed mail goes to a smarthost port where nothing listens, so it stays in the spool;
then rampart is killed with SIGKILL under load, restarted with a live sink on that port,
and every acknowledged queue id must reach the sink.
"""
import smtplib
import threading
import time

from conftest import RELAY_IP, SOCK_TIMEOUT, free_port, queued_id, wait_for

TOTAL = 200
KILL_AFTER = 100
THREADS = 6


def relay_message(i):
    return (f"From: load@outside.test\r\nTo: dest{i}@elsewhere.test\r\nSubject: load {i}\r\n\r\n"
            f"message number {i}\r\n" + "filler line for some bulk\r\n" * 20).encode()


def test_kill9_under_load_loses_no_acknowledged_message(rampart_factory, sink_factory):
    dead_port = free_port()
    r = rampart_factory("crash", smarthost_port=dead_port, retry_interval="1s")
    acked = {}  # qid -> message number
    lock = threading.Lock()
    killed = threading.Event()
    next_i = [0]
    errors = []

    def take():
        with lock:
            if next_i[0] >= TOTAL or killed.is_set():
                return None
            next_i[0] += 1
            return next_i[0] - 1

    def worker():
        i = take()
        while i is not None:
            try:
                with smtplib.SMTP(r.host, r.port, timeout=SOCK_TIMEOUT, source_address=(RELAY_IP, 0)) as s:
                    s.ehlo("load.test")
                    while i is not None:
                        if s.mail("load@outside.test")[0] != 250 or s.rcpt(f"dest{i}@elsewhere.test")[0] != 250:
                            errors.append(("envelope refused", i))
                            return
                        code, text = s.data(relay_message(i))
                        if code == 250:
                            qid = queued_id(text)
                            with lock:
                                acked[qid] = i
                        i = take()
            except (OSError, smtplib.SMTPException) as e:
                if not killed.is_set():
                    errors.append((repr(e), i))
                return

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) >= KILL_AFTER or not any(t.is_alive() for t in threads), 60,
             interval=0.005, what=f"{KILL_AFTER} acknowledgements")
    killed.set()
    r.kill9()
    for t in threads:
        t.join(timeout=SOCK_TIMEOUT + 5)
        assert not t.is_alive(), "client thread hung"
    assert not errors, errors[:5]
    with lock:
        acked_ids = dict(acked)
    assert len(acked_ids) >= KILL_AFTER, len(acked_ids)
    print(f"acknowledged before SIGKILL: {len(acked_ids)} of {TOTAL} attempted")

    # every acknowledged message is in the spool after the crash
    spooled = r.queued_ids()
    missing_in_spool = set(acked_ids) - spooled
    assert not missing_in_spool, f"{len(missing_in_spool)} acknowledged ids not in the spool: {sorted(missing_in_spool)[:5]}"

    sink = sink_factory(port=dead_port)
    r.start()

    def all_arrived():
        return not (set(acked_ids) - sink.ids_seen())
    try:
        wait_for(all_arrived, 60, interval=0.2, what="acknowledged messages at the sink")
    except AssertionError:
        lost = sorted(set(acked_ids) - sink.ids_seen())
        raise AssertionError(f"{len(lost)} of {len(acked_ids)} acknowledged messages never arrived, e.g. {lost[:5]}\n"
                             + r.log_tail())
    # contents intact
    by_id = {}
    for e in sink.messages():
        for qid in acked_ids:
            if (b"id " + qid.encode()) in e["data"]:
                by_id[qid] = e
    for qid, i in acked_ids.items():
        e = by_id[qid]
        assert e["rcpt_tos"] == [f"dest{i}@elsewhere.test"]
        assert e["data"].endswith(relay_message(i)), qid
    wait_for(lambda: r.spool_count() == 0 or not (set(acked_ids) & {f.name for f in r.spool_files()}), 30,
             what="spool drained of delivered messages")


def test_queued_message_survives_clean_restart(rampart_factory, sink_factory):
    dead_port = free_port()
    r = rampart_factory("restart", smarthost_port=dead_port, retry_interval="1s")
    data = b"From: a@outside.test\r\nTo: far@elsewhere.test\r\nSubject: restart\r\n\r\nstill here\r\n"
    with smtplib.SMTP(r.host, r.port, timeout=SOCK_TIMEOUT, source_address=(RELAY_IP, 0)) as s:
        s.ehlo("client.test")
        assert s.mail("a@outside.test")[0] == 250
        assert s.rcpt("far@elsewhere.test")[0] == 250
        code, text = s.data(data)
        assert code == 250, text
    qid = queued_id(text)
    wait_for(lambda: [e for e in r.log_events("delivery.attempt") if e.get("qid") == qid and e.get("result") == "deferred"],
             15, what="a deferred delivery attempt\n" + r.log_tail())
    assert qid in {f.name for f in r.spool_files()}
    r.stop()
    assert r.proc.returncode == 0, f"clean shutdown on SIGTERM expected, exit status {r.proc.returncode}"
    assert qid in {f.name for f in r.spool_files()}, "spool file vanished at shutdown"

    sink = sink_factory(port=dead_port)
    r.start()
    wait_for(lambda: qid in sink.ids_seen(), 20, what="delivery after restart\n" + r.log_tail())
    [e] = [m for m in sink.messages() if (b"id " + qid.encode()) in m["data"]]
    assert e["data"].endswith(data)
    assert e["rcpt_tos"] == ["far@elsewhere.test"]
    wait_for(lambda: qid not in {f.name for f in r.spool_files()}, 10, what="spool file removed after delivery")


def test_local_message_survives_kill_before_delivery_is_observed(rampart_factory):
    """Local delivery: after a 250 and SIGKILL the message is in the spool or the Maildir, and is
    delivered after a restart (a duplicate is tolerated, RFC 5321 §6.1; a loss is not)."""
    r = rampart_factory("local")
    data = b"Subject: local\r\n\r\nlocal body\r\n"
    with smtplib.SMTP(r.host, r.port, timeout=SOCK_TIMEOUT) as s:
        s.ehlo("client.test")
        assert s.mail("a@outside.test")[0] == 250
        assert s.rcpt("keeper@example.test")[0] == 250
        code, text = s.data(data)
        assert code == 250
    qid = queued_id(text)
    r.kill9()
    # either already delivered or still in the spool
    in_spool = qid in r.queued_ids()
    delivered = [m for m in r.maildir_messages("keeper") if (b"id " + qid.encode()) in m]
    assert in_spool or delivered
    r.start()
    msgs = wait_for(lambda: r.maildir_messages("keeper"), 10, what="local delivery after restart\n" + r.log_tail())
    assert all(m.endswith(data) for m in msgs)
