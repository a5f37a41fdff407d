"""`rampart sendmail` (and the `sendmail` symlink of `rampart install`): a real server, real
Unix users created by the test (CI runs as root), the client run as those users. The
server learns the user from the kernel (SO_PEERCRED) over data_dir/submit.sock and holds
it to the policy of the listener [server] local_submission."""
import os
import pwd
import signal
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, Rampart, wait_for
from unix_users import SharedDir, binary_for, ensure_user, run_as

ALICE = "rsm-alice"   # granted submit on the listener
BOB = "rsm-bob"       # not granted anything
CAROL = "rsm-carol"   # granted through a group of the directory user of the same name

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates Unix users and runs commands as them (CI runs as root)")


@pytest.fixture
def shared():
    d = SharedDir("rampart-sendmail-")
    yield d
    d.cleanup()


@pytest.fixture
def users():
    return {"alice": ensure_user(ALICE), "bob": ensure_user(BOB), "carol": ensure_user(CAROL), "root": pwd.getpwuid(0)}


@pytest.fixture
def server(shared):
    srv = Rampart(os.path.join(shared.path, "r"), server_keys={"local_submission": "default"},
                  listener_keys={"permissions": {"submit": [f"user:{ALICE}", "user:root", "group:senders"], "relay": []}})
    srv.start()
    yield srv
    srv.stop()


def sendmail(srv, user, shared, *args, stdin=b""):
    return run_as(user, [binary_for(user, shared), "sendmail", "-C", str(srv.config_path), *args], stdin=stdin)


def delivered(srv, local, n=1):
    return wait_for(lambda: len(srv.maildir_messages(local)) >= n and srv.maildir_messages(local), what=f"mail for {local}")


def test_t_reads_recipients_removes_bcc_and_logs_the_principal(server, users, shared):
    msg = (b"To: One <one@example.test>\n"
           b"Cc: two@example.test\n"
           b"Bcc: three@example.test\n"
           b"Subject: local submission\n"
           b"\n"
           b"hello from a local program\n")
    r = sendmail(server, users["alice"], shared, "-t", "-F", "Alice App", stdin=msg)
    assert r.returncode == 0, r.stderr
    for local in ("one", "two", "three"):
        m = delivered(server, local)[0]
        head = m.split(b"\r\n\r\n", 1)[0]
        own = b"\r\n".join(l for l in head.split(b"\r\n") if not l.startswith(b"Delivered-To:"))   # added by delivery
        assert b"Bcc" not in own and b"three@" not in own, m
        assert f'From: "Alice App" <{ALICE}@mx.test>'.encode() in head, m
        assert b"\r\nMessage-ID: <" in head and b"\r\nDate: " in head, m
        assert head.startswith(b"Return-Path:") or b"Received: " in head, m
        assert b"hello from a local program\r\n" in m
    auth = [e for e in server.log_events("smtp.auth") if e.get("mechanism") == "LOCAL"]
    assert auth and auth[-1]["user"] == ALICE and auth[-1]["principal"] == f"user:{ALICE}", server.log_tail()
    assert auth[-1]["uid"] == str(users["alice"].pw_uid)


def test_lone_dot_ends_input_unless_i(server, users, shared):
    msg = b"Subject: dots\n\nbefore\n.\nafter\n"
    r = sendmail(server, users["alice"], shared, "dot1@example.test", stdin=msg)
    assert r.returncode == 0, r.stderr
    m = delivered(server, "dot1")[0]
    assert b"before\r\n" in m and b"after" not in m, m
    r = sendmail(server, users["alice"], shared, "-oi", "dot2@example.test", stdin=msg)
    assert r.returncode == 0, r.stderr
    m = delivered(server, "dot2")[0]
    assert b"before\r\n.\r\nafter\r\n" in m, m   # dot-stuffed on the wire, unstuffed in the mailbox


def test_f_is_only_for_root_and_own_addresses(server, users, shared):
    r = sendmail(server, users["alice"], shared, "-f", "ceo@outside.test", "f1@example.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 77, (r.returncode, r.stderr)   # EX_NOPERM: sender.own_address
    assert "5.7.1" in r.stderr and "NOT sent" in r.stderr, r.stderr
    r = sendmail(server, users["alice"], shared, "-f", f"{ALICE}@mx.test", "f2@example.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 0, r.stderr
    delivered(server, "f2")
    r = sendmail(server, users["root"], shared, "-f", "bounces@outside.test", "f3@example.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 0, r.stderr
    delivered(server, "f3")
    assert server.maildir_messages("f1") == []
    refused = [e for e in server.log_events() if e.get("rule") == "sender.own_address"]
    assert refused, server.log_tail()


def test_policy_refuses_an_unpermitted_user_and_relaying(server, users, shared):
    r = sendmail(server, users["bob"], shared, "p1@example.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 77, (r.returncode, r.stderr)
    assert "not permitted to send through this listener" in r.stderr and "NOT sent" in r.stderr, r.stderr
    # alice may submit, not relay: a recipient elsewhere is refused and nothing is sent.
    r = sendmail(server, users["alice"], shared, "p2@example.test", "someone@outside.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 77, (r.returncode, r.stderr)
    assert "someone@outside.test" in r.stderr, r.stderr
    assert server.spool_count() == 0
    assert server.maildir_messages("p1") == [] and server.maildir_messages("p2") == []


def test_server_down_is_a_temporary_failure(server, users, shared):
    server.stop()
    r = sendmail(server, users["alice"], shared, "down@example.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 75, (r.returncode, r.stderr)   # EX_TEMPFAIL
    assert "NOT sent" in r.stderr and "submit.sock" in r.stderr, r.stderr


def test_usage_errors(server, users, shared):
    for args in (["-bs"], ["-bp"], ["-q"], ["-Z", "a@example.test"]):
        r = sendmail(server, users["alice"], shared, *args)
        assert r.returncode == 64, (args, r.returncode, r.stderr)
    r = sendmail(server, users["alice"], shared, "-t", stdin=b"Subject: no recipients\n\nx\n")
    assert r.returncode == 64 and "NOT sent" in r.stderr, r.stderr
    r = sendmail(server, users["alice"], shared, "-odi", "-oem", "-v", "ok@example.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 0, r.stderr
    delivered(server, "ok")


def test_install_makes_the_sendmail_symlink(server, users, shared):
    prefix = os.path.join(shared.path, "prefix")
    r = subprocess.run([RAMPART_BIN, "install", "--prefix", prefix], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    link = os.path.join(prefix, "sbin", "sendmail")
    assert os.path.realpath(link) == os.path.realpath(RAMPART_BIN)
    r = subprocess.run([RAMPART_BIN, "install", "--prefix", prefix], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "--force" in r.stderr, r.stderr   # never replaces another MTA's sendmail silently
    r = subprocess.run([RAMPART_BIN, "install", "--prefix", prefix, "--force"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    # argv[0] == "sendmail": the sendmail command line.
    r = subprocess.run([link, "-C", str(server.config_path), "-oi", "sym@example.test"], input=b"Subject: via symlink\n\nx\n",
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    delivered(server, "sym")


def test_directory_user_of_the_same_name_lends_groups_and_addresses(server, users, shared):
    r = sendmail(server, users["carol"], shared, "g0@example.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 77, (r.returncode, r.stderr)   # not yet in group senders
    before = len(server.log_events("directory.loaded"))
    for args, stdin in ((["user", "add", CAROL, "--address", f"carol@{DOMAIN}"], "pw-carol\n"),
                        (["group", "add", "senders", "--member", f"user:{CAROL}"], "")):
        c = subprocess.run([RAMPART_BIN, *args, "-c", str(server.config_path)], input=stdin, capture_output=True, text=True,
                           timeout=30)
        assert c.returncode == 0, c.stderr
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: server.log_events("directory.loaded")[before:], what="directory reload")
    # The directory now has users: an unknown local recipient is EX_NOUSER (67).
    r = sendmail(server, users["carol"], shared, "g1@example.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 67 and "5.1.1" in r.stderr, (r.returncode, r.stderr)
    r = sendmail(server, users["carol"], shared, "-f", f"carol@{DOMAIN}", f"carol@{DOMAIN}", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 0, r.stderr
    m = delivered(server, CAROL)[0]
    assert f"Return-Path: <carol@{DOMAIN}>".encode() in m, m


def test_a_reload_applies_to_local_submission(server, users, shared):
    """Local submission follows SIGHUP like the TCP listeners: a permission granted by a
    reload lets bob send at once, and one taken away refuses alice."""
    r = sendmail(server, users["bob"], shared, "rl1@example.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 77, (r.returncode, r.stderr)   # not permitted yet
    server.listener_keys["permissions"] = {"submit": [f"user:{BOB}"], "relay": []}
    server.write_config()
    before = len(server.log_events("config.reloaded"))
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: server.log_events("config.reloaded")[before:], what="config.reloaded")
    r = sendmail(server, users["bob"], shared, "rl2@example.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 0, (r.returncode, r.stderr)
    delivered(server, "rl2")
    r = sendmail(server, users["alice"], shared, "rl3@example.test", stdin=b"Subject: x\n\nx\n")
    assert r.returncode == 77, (r.returncode, r.stderr)   # no longer on the list
    assert "not permitted to send through this listener" in r.stderr, r.stderr
