"""Unix users for the sendmail and privilege tests (CI runs as root): users created with
useradd (idempotent), a work directory every user can traverse (pytest's own tmp_path is
under a 0700 directory that a dropped server or a test user could not enter), and running
a command as one of those users."""
import os
import pwd
import shutil
import subprocess
import tempfile

from conftest import RAMPART_BIN


def ensure_user(name):
    """The pwd entry of `name`, creating a system user without a home if it is missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    r = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       capture_output=True, text=True, timeout=30)
    # 9: created meanwhile by a test running in parallel
    assert r.returncode in (0, 9), f"useradd {name}: {r.returncode} {r.stderr}"
    return pwd.getpwnam(name)


class SharedDir:
    """A directory under /tmp (mode 0755) removed at the end."""

    def __init__(self, prefix):
        self.path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        os.chmod(self.path, 0o755)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def binary_for(user, shared):
    """RAMPART_BIN if `user` may run it where it is, else a copy in the shared directory."""
    try:
        r = subprocess.run([RAMPART_BIN, "version"], user=user.pw_uid, group=user.pw_gid, extra_groups=[],
                           capture_output=True, timeout=30)
        if r.returncode == 0:
            return RAMPART_BIN
    except PermissionError:
        pass
    copy = os.path.join(shared.path, "rampart")
    if not os.path.exists(copy):
        shutil.copy2(RAMPART_BIN, copy)
        os.chmod(copy, 0o755)
    return copy


def run_as(user, args, stdin=b"", timeout=60, cwd="/"):
    """Runs `args` as `user` (uid, gid, no supplementary groups) -> CompletedProcess (text)."""
    r = subprocess.run(args, input=stdin, user=user.pw_uid, group=user.pw_gid, extra_groups=[], capture_output=True,
                       timeout=timeout, cwd=cwd)
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode(errors="replace"),
                                       r.stderr.decode(errors="replace"))
