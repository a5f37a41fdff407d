"""Back pressure (issue 9): when the queue or the spool's disk passes a watermark, MAIL FROM
is first tarpitted, then refused with 452 4.3.1 for anonymous clients while authenticated
submission still gets through; accepting resumes by itself once the queue drains or space
is freed. Logged (`back_pressure.state`) and shown by `rampart explain`.

The queue is grown with messages relayed to a smart host that does not answer (they stay
deferred); the disk is a small tmpfs the test mounts itself (root, as in CI).
"""
import json
import smtplib
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, RELAY_IP, SOCK_TIMEOUT, RawSMTP, free_port, wait_for
from policy_setup import add_user, configure

QUEUE_PRESSURE = """[back_pressure]
disk_free_tarpit = 0
disk_free_refuse = 0
disk_free_refuse_all = 0
queue_tarpit = 1
queue_refuse = 2
queue_refuse_all = 0
tarpit = "300ms"
"""


def mail_reply(srv, port=None, source=None):
    """One anonymous MAIL FROM on a fresh connection -> (code, text)."""
    with RawSMTP(srv.host, port or srv.port, source_address=(source, 0) if source else None) as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        code, text = c.cmd("MAIL FROM:<someone@outside.test>")
        c.cmd("QUIT")
        return code, " ".join(text)


def relay_one(srv, n):
    """A message relayed (RELAY_IP is on the relay list) to the dead smart host: it stays queued."""
    with smtplib.SMTP(srv.host, srv.port, timeout=SOCK_TIMEOUT, source_address=(RELAY_IP, 0)) as c:
        c.ehlo("relay.test")
        c.sendmail("app@outside.test", [f"far{n}@elsewhere.test"], f"Subject: {n}\r\n\r\nheld\r\n")


def levels(srv):
    return [e.get("level") for e in srv.log_events("back_pressure.state")]


def queue_ids(srv):
    r = srv.queue_cli("list", "--json")
    assert r.returncode == 0, r.stderr
    return [m["id"] for m in json.loads(r.stdout)["messages"]]


@pytest.fixture
def pressured(rampart_factory):
    srv = rampart_factory(start=False)
    sub_port = free_port()
    configure(srv, "all-in-one", [
        ("inbound", srv.port, 'tls = "none"\nremote_ranges = ["0.0.0.0/0", "::/0"]\n'
                              f'relay = {{ mode = "only-list", list = ["{RELAY_IP}/32"] }}'),
        ("submission", sub_port, 'tls = "none"\nremote_ranges = ["0.0.0.0/0", "::/0"]\n'
                                 'auth = { anonymous = false, basic = true, basic_requires_tls = false }\n'
                                 'permissions = { submit = ["group:staff"], relay = ["group:staff"] }'),
    ], smarthost_port=free_port(), extra='[queue]\nretry_interval = "1h"\n\n' + QUEUE_PRESSURE)
    add_user(srv, "alice", "alice-secret", "staff")
    srv.start()
    srv.sub_port = sub_port
    return srv


def test_queue_watermarks_tarpit_then_refuse_anonymous_and_resume_when_drained(pressured):
    srv = pressured
    assert mail_reply(srv)[0] == 250                       # normal: no pressure yet
    relay_one(srv, 1)                                       # queue 1: tarpit level
    wait_for(lambda: "tarpit" in levels(srv), what="back_pressure.state level=tarpit")
    # Delayed, not refused (polled: the level is sampled, not pushed).
    tarpits = wait_for(lambda: mail_reply(srv)[0] == 250 and srv.log_events("back_pressure.tarpit"), interval=0.2,
                       what="a tarpitted MAIL FROM")
    assert tarpits[-1]["rule"] == "back_pressure.queue_tarpit"

    relay_one(srv, 2)                                       # queue 2: refuse level
    wait_for(lambda: "refuse" in levels(srv), what="back_pressure.state level=refuse")
    state = [e for e in srv.log_events("back_pressure.state") if e.get("level") == "refuse"][0]
    assert state["queue_messages"] == "2" and state["queue"] == "refuse"
    code, text = wait_for(lambda: (r := mail_reply(srv))[0] == 452 and r, interval=0.2, what="452 at MAIL FROM")
    assert "4.3.1" in text and "insufficient system resources" in text
    refused = [e for e in srv.log_events("smtp.mail.refused") if e.get("rule") == "back_pressure.queue_refuse"]
    assert refused and refused[-1]["code"] == "452"

    # explain asks the running server and shows the same refusal.
    r = subprocess.run([RAMPART_BIN, "explain", "-c", str(srv.config_path), "--listener", "inbound",
                        "--client-ip", "203.0.113.9", "--mail-from", "x@outside.test", "--rcpt", f"postmaster@{DOMAIN}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "back_pressure.queue_refuse" in r.stdout and "452 4.3.1" in r.stdout, r.stdout

    # An authenticated user is only delayed at this level: the submission goes through.
    with smtplib.SMTP(srv.host, srv.sub_port, timeout=SOCK_TIMEOUT) as c:
        c.ehlo("laptop.test")
        c.login("alice", "alice-secret")
        c.sendmail(f"alice@{DOMAIN}", [f"alice@{DOMAIN}"], "Subject: still\r\n\r\ngets through\r\n")
    assert srv.log_events("back_pressure.tarpit")[-1]["listener"] == "submission"

    # The queue drains: accepting resumes by itself.
    for qid in queue_ids(srv):
        assert srv.queue_cli("delete", qid).returncode == 0
    wait_for(lambda: mail_reply(srv)[0] == 250, timeout=15, interval=0.2, what="MAIL accepted again after the queue drained")
    assert levels(srv)[-1] == "normal"


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=10)


def test_disk_watermark_refuses_anonymous_until_space_is_freed(rampart_factory, small_fs):
    srv = rampart_factory(data_dir=small_fs / "data", extra_config="""[back_pressure]
disk_free_tarpit = 0
disk_free_refuse = 50
disk_free_refuse_all = 5
queue_tarpit = 0
queue_refuse = 0
queue_refuse_all = 0
""")
    assert mail_reply(srv)[0] == 250
    ballast = small_fs / "ballast"
    ballast.write_bytes(b"\0" * (640 * 1024))               # ~35% of the tmpfs left
    wait_for(lambda: mail_reply(srv)[0] == 452, timeout=15, interval=0.2, what="452 once the disk passed disk_free_refuse")
    state = [e for e in srv.log_events("back_pressure.state") if e.get("level") == "refuse"][0]
    assert state["disk"] == "refuse" and float(state["disk_free_percent"]) < 50
    ballast.unlink()
    wait_for(lambda: mail_reply(srv)[0] == 250, timeout=15, interval=0.2, what="MAIL accepted again after space was freed")
    assert levels(srv)[-1] == "normal"
