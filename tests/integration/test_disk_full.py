"""A full disk must answer 452 4.3.1, never 250, and leave nothing half-written behind.

The data directory lives on a small tmpfs the test mounts itself (needs root, as in CI).
"""
import os
import smtplib
import subprocess

import pytest

from conftest import DOMAIN


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", str(mnt)],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=10)


# ~2 MiB does not fit while it arrives (the incoming file fills the disk); ~1.1 MiB arrives,
# but its copy into the spool file does not fit next to it (the commit fails). A message up
# to 1 MiB (Spool::kJournalMax) needs only one copy on disk once it has arrived (the
# journal's; its file is written lazily), so the failing commit needs a larger one; the
# journal's own failure path is in tests/unit/queue/spool_test.cpp.
@pytest.mark.parametrize("lines,event", [(2048, "spool.incoming.failed"), (1100, "spool.commit.failed")])
def test_disk_full_is_452_and_nothing_is_kept(rampart_factory, small_fs, lines, event):
    # Back pressure off: this is about the commit path itself; a sample taken while the
    # big message fills the disk would (rightly) refuse the next MAIL FROM for a second.
    # Tracking off: the sizes above are measured for the spool alone, and the tracking
    # store's pages and WAL would take their share of the 1.5 MiB.
    srv = rampart_factory(data_dir=small_fs / "data", limits={"max_message_size": "4MiB", "max_line_length": 0},
                          extra_config="[back_pressure]\nenabled = false\n\n[tracking]\nenabled = false\n")
    big = "Subject: big\r\n\r\n" + ("x" * 998 + "\r\n") * lines
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.ehlo("client.test")
        with pytest.raises(smtplib.SMTPDataError) as err:
            c.sendmail("a@outside.test", [f"full@{DOMAIN}"], big)
        assert err.value.smtp_code == 452
        assert b"4.3.1" in err.value.smtp_error
        assert srv.spool_count() == 0
        assert not any((small_fs / "data" / "spool" / "incoming").iterdir())
        # The space is given back: a small message still gets through.
        c.sendmail("a@outside.test", [f"small@{DOMAIN}"], "Subject: small\r\n\r\nok\r\n")
    failed = srv.log_events(event)
    assert failed and "No space left on device" in failed[0].get("error", "")
    assert os.path.isdir(small_fs / "data")
