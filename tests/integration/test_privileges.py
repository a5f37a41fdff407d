"""The privilege drop of `rampart serve` (issue 12): started as root it binds, opens its
files, then runs as [server] user; it still accepts, queues and delivers, reloads on
SIGHUP and answers the control socket. CI runs as root; the test creates the users."""
import os
import pwd
import signal
import smtplib
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, Rampart, wait_for
from unix_users import SharedDir, ensure_user

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the privilege drop needs a server started as root (CI runs as root)")


@pytest.fixture
def shared():
    d = SharedDir("rampart-priv-")
    yield d
    d.cleanup()


def ids(pid, field):
    """Real, effective, saved and filesystem ids ('Uid' or 'Gid') of a process."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_drops_to_the_default_user_and_keeps_working(shared):
    rampart = ensure_user("rampart")   # the default server.user
    srv = Rampart(os.path.join(shared.path, "r"), server_keys={"run_as_root": False})
    # The directory file belongs to the server's user (as an administrator would set it):
    # the reload after the drop reads it, and `rampart user add` keeps its owner.
    directory = srv.workdir / "directory.toml"
    directory.write_text("")
    os.chown(directory, rampart.pw_uid, rampart.pw_gid)
    srv.start()
    try:
        pid = srv.proc.pid
        # The port accepts from bind() on; the drop follows once everything is open.
        ev = wait_for(lambda: srv.log_events("server.privileges"), what="server.privileges")
        assert ev[-1]["user"] == "rampart", srv.log_tail()
        assert ids(pid, "Uid") == [rampart.pw_uid] * 4
        assert ids(pid, "Gid") == [rampart.pw_gid] * 4
        # Accepts, queues (fsync'd spool in a data_dir it now owns) and delivers.
        with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
            c.sendmail("someone@outside.test", [f"after-drop@{DOMAIN}"], b"Subject: dropped\r\n\r\nstill works\r\n")
        m = wait_for(lambda: srv.maildir_messages("after-drop"), what="delivery after the drop")
        assert b"still works" in m[0]
        box = srv.maildir("after-drop")
        assert os.stat(box).st_uid == rampart.pw_uid
        assert os.stat(srv.data_dir / "spool").st_uid == rampart.pw_uid
        # The control socket: root may still ask.
        r = srv.queue_cli("list")
        assert r.returncode == 0, r.stdout + r.stderr
        # Reload (SIGHUP) after the drop reads the directory it was given.
        r = subprocess.run([RAMPART_BIN, "user", "add", "newbie", "--address", f"newbie@{DOMAIN}", "-c", str(srv.config_path)],
                           input="pw-newbie\n", capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert os.stat(directory).st_uid == rampart.pw_uid   # the rewrite kept the owner
        before = len(srv.log_events("directory.loaded"))
        srv.proc.send_signal(signal.SIGHUP)
        loaded = wait_for(lambda: srv.log_events("directory.loaded")[before:], what="reload after SIGHUP")
        assert loaded[-1]["users"] == "1", srv.log_tail()
        assert not srv.log_events("directory.reload.failed")
        assert srv.running()
    finally:
        srv.stop()


def test_missing_user_stops_the_start(shared):
    srv = Rampart(os.path.join(shared.path, "m"), server_keys={"user": "rampart-no-such-user"})
    r = subprocess.run([RAMPART_BIN, "serve", "-c", str(srv.config_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'server.user: no Unix user "rampart-no-such-user"' in r.stderr and "run_as_root" in r.stderr, r.stderr


def test_run_as_root_stays_root_and_says_so(shared):
    srv = Rampart(os.path.join(shared.path, "root"), server_keys={"run_as_root": True, "user": "rampart-no-such-user"})
    srv.start()
    try:
        ev = wait_for(lambda: srv.log_events("server.privileges"), what="server.privileges")
        assert ids(srv.proc.pid, "Uid") == [0, 0, 0, 0]
        assert ev and ev[-1]["user"] == "root" and ev[-1]["level"] in ("warning", "warn"), srv.log_tail()
    finally:
        srv.stop()
