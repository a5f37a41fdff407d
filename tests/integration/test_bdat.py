"""CHUNKING / BDAT (RFC 3030)."""
from conftest import queued_id, wait_for


def open_txn(c, rcpt):
    assert c.read_reply()[0] == 220
    code, lines = c.cmd("EHLO client.test")
    assert code == 250 and "CHUNKING" in lines
    assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
    assert c.cmd(f"RCPT TO:<{rcpt}>")[0] == 250


def bdat(c, chunk, last=False):
    c.send(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"") + chunk)
    return c.read_reply()


def test_bdat_chunks(rampart):
    # lines starting with "." and a lone "." line are data under BDAT, never stuffed;
    # a CRLF split across chunks is still a CRLF.
    original = (b"From: a@outside.test\r\nSubject: chunked\r\n\r\nfirst line\r\n.\r\n..two dots\r\n"
                b".\r\nQUIT\r\nlast line\r\n")
    chunks = [original[:30], original[30:52], original[52:67] + b"\r", b"\n" + original[67:]]
    # make sure one boundary splits CRLF
    assert chunks[2].endswith(b"\r") and chunks[3].startswith(b"\n")
    chunks[3] = chunks[3]
    # rebuild original so the inserted split CRLF is part of the expected text
    expected = b"".join(chunks)
    with rampart.raw() as c:
        open_txn(c, "chunky@example.test")
        for ch in chunks[:-1]:
            code, lines = bdat(c, ch)
            assert code == 250, lines
        code, lines = bdat(c, chunks[-1], last=True)
        assert code == 250 and "queued as" in lines[0], lines
        qid = queued_id(lines[0])
        assert c.cmd("NOOP")[0] == 250
        assert c.cmd("QUIT")[0] == 221
    [stored] = wait_for(lambda: rampart.maildir_messages("chunky"), 10, what="delivery\n" + rampart.log_tail())
    assert stored.endswith(expected), stored
    assert (b"id " + qid.encode()) in stored


def test_bdat_zero_last_and_pipelined(rampart):
    original = b"Subject: zero\r\n\r\nbody\r\n"
    with rampart.raw() as c:
        open_txn(c, "zero@example.test")
        c.send(b"BDAT %d\r\n" % len(original) + original + b"BDAT 0 LAST\r\n")
        assert c.read_reply()[0] == 250
        code, lines = c.read_reply()
        assert code == 250 and "queued as" in lines[0], lines
    [stored] = wait_for(lambda: rampart.maildir_messages("zero"), 10, what="delivery\n" + rampart.log_tail())
    assert stored.endswith(original)


def test_bdat_bare_lf_refused(rampart):
    with rampart.raw() as c:
        open_txn(c, "barelf@example.test")
        code, lines = bdat(c, b"Subject: x\r\n\r\nbare\nlf\r\n", last=True)
        assert code == 554, lines
        assert lines[0].startswith("5.6.0"), lines
        assert c.cmd("NOOP")[0] == 250
        # the transaction is over: a new one can start
        assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
    assert rampart.maildir_messages("barelf") == []
    assert rampart.spool_count() == 0


def test_bdat_bare_cr_refused(rampart):
    with rampart.raw() as c:
        open_txn(c, "barecr@example.test")
        code, lines = bdat(c, b"Subject: x\r\n\r\nbare\rcr\r\n", last=True)
        assert code == 554, lines
        assert c.cmd("NOOP")[0] == 250
    assert rampart.maildir_messages("barecr") == []


def test_bdat_without_mail(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        # the 12 octets are chunk data, not commands; only the final NOOP is a command
        c.send(b"BDAT 12 LAST\r\nNOOP\r\nNOOP\r\nNOOP\r\n")
        code, lines = c.read_reply()
        assert code == 503, lines
        code, lines = c.read_reply()
        assert code == 250, lines
        assert c.expect_nothing(0.5), c.buf
        assert c.cmd("NOOP")[0] == 250


def test_bdat_then_data_refused(rampart):
    with rampart.raw() as c:
        open_txn(c, "mixed@example.test")
        assert bdat(c, b"Subject: x\r\n\r\n")[0] == 250
        code, lines = c.cmd("DATA")
        assert code == 503, lines


def test_bdat_too_big(rampart):
    with rampart.raw() as c:
        open_txn(c, "bigchunk@example.test")
        chunk = b"Subject: big\r\n\r\n" + (b"y" * 98 + b"\r\n") * 1100  # > 100 KiB
        code, lines = bdat(c, chunk, last=True)
        assert code == 552, lines
        assert c.cmd("NOOP")[0] == 250
    assert rampart.maildir_messages("bigchunk") == []
