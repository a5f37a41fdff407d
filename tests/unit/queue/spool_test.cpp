#include "queue/spool.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <gtest/gtest.h>
#include <zlib.h>

#include "queue/spool_format.hpp"

using namespace rampart::queue;

namespace {

Envelope sample() {
    Envelope e;
    e.id = "ABC";
    e.received_at = 1700000000;
    e.listener = "default";
    e.client = "127.0.0.1";
    e.helo = "client.test";
    e.sender = "\"a b\"@example.test";
    e.body = rampart::smtp::Body::EightBitMime;
    e.smtputf8 = true;
    e.ret = rampart::smtp::Ret::Hdrs;
    e.envid = "QQ+2B1";
    e.recipients = {{"x@example.test", 6, "rfc822;x@example.test", false, {}, {}}, {"y@outside.test", 0, "", false, {}, {}}};
    e.size = 5;
    return e;
}

// sample() without an id: the spool gives it one.
Envelope fresh() {
    Envelope e = sample();
    e.id.clear();
    return e;
}

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/rampart-spool-XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

std::string commit(Spool& spool, Envelope env, std::string_view head, std::string_view body) {
    asio::io_context io;
    auto fut = asio::co_spawn(io, spool.commit(std::move(env), head, body), asio::use_future);
    io.run();
    auto r = fut.get();
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::string();
}

}  // namespace

TEST(SpoolFormat, RoundTrip) {
    Envelope e = sample();
    std::string file = encode_header(e) + "hello" + std::string(kEndRecord) + encode_done(1);
    auto p = parse_spool_file(file);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->envelope.sender, e.sender);
    EXPECT_EQ(p->envelope.envid, e.envid);
    EXPECT_EQ(p->envelope.ret, e.ret);
    EXPECT_TRUE(p->envelope.smtputf8);
    ASSERT_EQ(p->envelope.recipients.size(), 2u);
    EXPECT_EQ(p->envelope.recipients[0].notify, 6u);
    EXPECT_EQ(p->envelope.recipients[0].orcpt, "rfc822;x@example.test");
    EXPECT_FALSE(p->envelope.recipients[0].done);
    EXPECT_TRUE(p->envelope.recipients[1].done);
    EXPECT_EQ(file.substr(p->message_offset, 5), "hello");
}

namespace {
std::string every_byte(char tag) {
    std::string s(1, tag);
    for (int b = 0; b < 256; ++b) s += static_cast<char>(b);
    return s + "%2D%-\t";
}
}  // namespace

// Issue 14 #11: no byte in any text field can split a record or forge one.
TEST(SpoolFormat, EveryByteInEveryFieldRoundTrips) {
    Envelope e = sample();
    e.id = every_byte('i');
    e.listener = every_byte('l');
    e.client = every_byte('c');
    e.helo = every_byte('h');
    e.tls = every_byte('t');
    e.sender = every_byte('s');
    e.envid = every_byte('e');
    e.recipients[0].address = every_byte('a');
    e.recipients[0].orcpt = every_byte('o');
    e.recipients[0].alias = every_byte('x');
    e.recipients[1].orcpt = "-";   // a value that looks like the empty marker
    e.recipients[1].address = "-";
    AttemptResult fail{Outcome::Failed, 550, every_byte('S'), every_byte('D'), every_byte('R')};
    std::string file = encode_header(e) + "hello" + std::string(kEndRecord) + encode_failed(0, fail) + encode_done(1);
    auto p = parse_spool_file(file);
    ASSERT_TRUE(p);
    const Envelope& g = p->envelope;
    EXPECT_EQ(g.id, e.id);
    EXPECT_EQ(g.listener, e.listener);
    EXPECT_EQ(g.client, e.client);
    EXPECT_EQ(g.helo, e.helo);
    EXPECT_EQ(g.tls, e.tls);
    EXPECT_EQ(g.sender, e.sender);
    EXPECT_EQ(g.envid, e.envid);
    ASSERT_EQ(g.recipients.size(), 2u);
    EXPECT_EQ(g.recipients[0].address, e.recipients[0].address);
    EXPECT_EQ(g.recipients[0].orcpt, e.recipients[0].orcpt);
    EXPECT_EQ(g.recipients[0].alias, e.recipients[0].alias);
    EXPECT_EQ(g.recipients[1].orcpt, "-");
    EXPECT_EQ(g.recipients[1].address, "-");
    EXPECT_TRUE(g.recipients[1].alias.empty());
    EXPECT_EQ(g.recipients[0].last.status, fail.status);
    EXPECT_EQ(g.recipients[0].last.diagnostic, fail.diagnostic);
    EXPECT_EQ(g.recipients[0].last.remote, fail.remote);
    EXPECT_TRUE(g.recipients[1].done);
    EXPECT_EQ(file.substr(p->message_offset, 5), "hello");
    // Every record is one line: the header has exactly as many lines as it has records.
    std::string header = encode_header(e);
    EXPECT_EQ(std::count(header.begin(), header.end(), '\n'), 16);
}

// Files written by 0.1 ("rampart-spool 1") are still read. 0.1 stored ORCPT raw, so an
// ORCPT with TABs split the rcpt record; the address is the last field (it cannot hold a
// TAB), and the unusable ORCPT is dropped.
TEST(SpoolFormat, Version1FilesAreStillRead) {
    std::string v1 =
        "rampart-spool 1\nid OLD1\nreceived 1700000000\nlistener default\nclient 127.0.0.1\nhelo c.test\ntls -\n"
        "sender a@b.test\nbody -\nsmtputf8 0\nret -\nenvid -\n"
        "rcpt\t6\trfc822;x+40y\tx@example.test\n"
        "rcpt\t0\trfc822\tevil@attacker.test\t;x\tvictim@example.test\n"
        "size 5\n\nhello" "end\n"
        "failed\t0\t550\t5.1.1\t192.0.2.1:25\t100% sure: no such user\n";
    auto p = parse_spool_file(v1);
    ASSERT_TRUE(p);
    const Envelope& g = p->envelope;
    EXPECT_EQ(g.id, "OLD1");
    ASSERT_EQ(g.recipients.size(), 2u);
    EXPECT_EQ(g.recipients[0].orcpt, "rfc822;x+40y");
    EXPECT_EQ(g.recipients[1].address, "victim@example.test");
    EXPECT_EQ(g.recipients[1].orcpt, "");
    EXPECT_EQ(g.recipients[0].last.diagnostic, "100% sure: no such user");
    EXPECT_EQ(g.recipients[0].last.status, "5.1.1");
}

TEST(SpoolFormat, IncompleteFilesAreRejected) {
    Envelope e = sample();
    std::string full = encode_header(e) + "hello" + std::string(kEndRecord);
    for (std::size_t cut = 0; cut < full.size(); ++cut)
        EXPECT_FALSE(parse_spool_file(full.substr(0, cut))) << "cut at " << cut;
    EXPECT_TRUE(parse_spool_file(full));
    // A torn "done" record is ignored, not fatal.
    auto p = parse_spool_file(full + "done 1");
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->envelope.recipients[1].done);
}

TEST(Spool, CommitThenRecover) {
    TempDir dir;
    std::string id;
    {
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok());
        Envelope e = fresh();
        id = commit(spool, e, "Received: x\r\n", "body\r\n");
        ASSERT_FALSE(id.empty());
        auto msg = spool.read_message(id);
        ASSERT_TRUE(msg.ok());
        EXPECT_EQ(*msg, "Received: x\r\nbody\r\n");
    }
    // Crash debris: a half-written file, as if the server died during write().
    {
        std::ofstream torn(dir.path() / "TORN");
        torn << "rampart-spool 1\nid TORN\nreceived 1\n";
    }
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    auto recovered = spool.recover();
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_EQ(recovered[0].id, id);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "TORN"));
}

TEST(Spool, DoneRecordsSurviveAndFinishedFilesGo) {
    TempDir dir;
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    Envelope e = fresh();
    std::string id = commit(spool, e, "", "m\r\n");
    asio::io_context io;
    auto fut = asio::co_spawn(io, spool.mark_done(id, {0}), asio::use_future);
    io.run();
    ASSERT_TRUE(fut.get().ok());
    auto rec = spool.recover();
    ASSERT_EQ(rec.size(), 1u);
    EXPECT_TRUE(rec[0].recipients[0].done);
    EXPECT_FALSE(rec[0].recipients[1].done);
    asio::io_context io2;
    auto fut2 = asio::co_spawn(io2, spool.mark_done(id, {1}), asio::use_future);
    io2.run();
    ASSERT_TRUE(fut2.get().ok());
    EXPECT_TRUE(spool.recover().empty());
    EXPECT_FALSE(std::filesystem::exists(dir.path() / id));
}

// Both failures are made by means root cannot bypass (CI runs as root, where a read-only
// directory is no obstacle): a file size limit, and a spool path that is not a directory.
TEST(SpoolDeathTest, WriteFailureIsReportedNotAcknowledged) {
    GTEST_FLAG_SET(death_test_style, "fast");   // fork: the child sees this TempDir; the Spool (a thread) lives in the child only
    TempDir dir;
    // In a child: RLIMIT_FSIZE binds every user, root included; the write past it fails
    // with EFBIG (SIGXFSZ ignored). Exit 0: the commit failed and left no file behind.
    auto child = [&] {
        Spool spool(dir.path() / "spool");
        if (!spool.open().ok()) std::_Exit(5);
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit lim{};
        ::getrlimit(RLIMIT_FSIZE, &lim);
        lim.rlim_cur = 64;
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) std::_Exit(3);
        asio::io_context io;
        const std::string body(4096, 'x');   // outlives the coroutine, which only holds a view
        auto fut = asio::co_spawn(io, spool.commit(sample(), "", body), asio::use_future);
        io.run();
        auto r = fut.get();
        if (r.ok()) std::_Exit(1);
        if (r.error().code != EFBIG) std::_Exit(2);
        for (const auto& f : std::filesystem::directory_iterator(dir.path() / "spool"))
            if (f.is_regular_file()) std::_Exit(4);
        std::_Exit(0);
    };
    EXPECT_EXIT(child(), ::testing::ExitedWithCode(0), "");
}

TEST(Spool, CreateFailureIsReportedNotAcknowledged) {
    TempDir dir;
    Spool spool(dir.path() / "spool");
    ASSERT_TRUE(spool.open().ok());
    std::filesystem::remove_all(dir.path() / "spool");
    std::ofstream(dir.path() / "spool") << "not a directory";   // ENOTDIR, for root too
    // A small message (journalled, its file written lazily): the journal it would be
    // acknowledged by was unlinked with the directory.
    asio::io_context io;
    auto fut = asio::co_spawn(io, spool.commit(sample(), "", "x"), asio::use_future);
    io.run();
    auto r = fut.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOENT);
    // A message over the journal's bound: its file cannot be created.
    asio::io_context io2;
    const std::string large(Spool::kJournalMax + 1, 'x');   // outlives the coroutine, which only holds a view
    auto fut2 = asio::co_spawn(io2, spool.commit(sample(), "", large), asio::use_future);
    io2.run();
    auto r2 = fut2.get();
    ASSERT_FALSE(r2.ok());
    EXPECT_EQ(r2.error().code, ENOTDIR);
}

TEST(SpoolFormat, StateRecordsRoundTrip) {
    Envelope e = sample();
    AttemptResult fail{Outcome::Failed, 550, "5.1.1", "no\tsuch\nuser", "192.0.2.1:25"};
    std::string file = encode_header(e) + "hello" + std::string(kEndRecord) + encode_failed(1, fail) +
                       encode_attempt(3, 1700000123456) + std::string(kHoldRecord) + std::string(kWarnedRecord);
    auto p = parse_spool_file(file);
    ASSERT_TRUE(p);
    const Envelope& g = p->envelope;
    EXPECT_FALSE(g.recipients[0].done);
    EXPECT_TRUE(g.recipients[1].done);
    EXPECT_EQ(g.recipients[1].last.outcome, Outcome::Failed);
    EXPECT_EQ(g.recipients[1].last.code, 550);
    EXPECT_EQ(g.recipients[1].last.status, "5.1.1");
    EXPECT_EQ(g.recipients[1].last.diagnostic, "no\tsuch\nuser");
    EXPECT_EQ(g.recipients[1].last.remote, "192.0.2.1:25");
    EXPECT_EQ(g.dsn_pending, std::vector<std::size_t>{1});   // failed, report not yet committed
    EXPECT_EQ(g.attempts, 3u);
    EXPECT_EQ(g.next_attempt, 1700000123456);
    EXPECT_TRUE(g.held);
    EXPECT_TRUE(g.delay_warned);
    EXPECT_FALSE(finished(g));

    auto q = parse_spool_file(file + encode_notified(1) + std::string(kReleaseRecord) + encode_done(0));
    ASSERT_TRUE(q);
    EXPECT_TRUE(q->envelope.dsn_pending.empty());
    EXPECT_FALSE(q->envelope.held);
    EXPECT_TRUE(finished(q->envelope));
}

TEST(Spool, FailedButUnreportedMessagesAreRecovered) {
    TempDir dir;
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    Envelope e = fresh();
    std::string id = commit(spool, e, "", "m\r\n");
    asio::io_context io;
    auto fut = asio::co_spawn(io, spool.append(id, encode_done(0) + encode_failed(1, {Outcome::Failed, 550, "5.1.1", "x", ""})),
                              asio::use_future);
    io.run();
    ASSERT_TRUE(fut.get().ok());
    auto rec = spool.recover();
    ASSERT_EQ(rec.size(), 1u);   // the failure report is still owed
    EXPECT_EQ(rec[0].dsn_pending, std::vector<std::size_t>{1});
    asio::io_context io2;
    auto fut2 = asio::co_spawn(io2, spool.append(id, encode_notified(1)), asio::use_future);
    io2.run();
    ASSERT_TRUE(fut2.get().ok());
    EXPECT_TRUE(spool.recover().empty());
}

// The principal travels as a record after the end record: files without it (older
// versions) load with it empty, and a file with it loads it back.
TEST(Spool, PrincipalIsRecordedAfterTheEndRecord) {
    TempDir dir;
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    Envelope e = fresh();
    e.principal = "anonymous";
    std::string id = commit(spool, e, "Received: x\r\n", "body\r\n");
    ASSERT_FALSE(id.empty());
    Envelope old = fresh();
    std::string old_id = commit(spool, old, "Received: x\r\n", "body\r\n");
    Spool again(dir.path());
    ASSERT_TRUE(again.open().ok());
    auto recovered = again.recover();
    ASSERT_EQ(recovered.size(), 2u);
    for (const Envelope& r : recovered) EXPECT_EQ(r.principal, r.id == id ? "anonymous" : "") << r.id;
    std::string header = encode_header(e);
    EXPECT_EQ(header.find("principal"), std::string::npos) << "the header stays readable by older versions";
}

// ---- the write-ahead journal (issue 13: one fdatasync per batch instead of a syncfs) ----

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void spit(const std::filesystem::path& p, std::string_view s) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << s;
}

std::string journal_record(const std::string& id, const std::string& bytes) {
    return "J " + id + " " + std::to_string(bytes.size()) + "\n" + bytes + "\n";
}

}  // namespace

TEST(SpoolJournal, CommitWritesTheMessageToTheJournal) {
    TempDir dir;
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    // A checkpoint (every 10 s) may empty the journal between the commit and the read:
    // try a few times; one commit is a few milliseconds.
    bool seen = false;
    for (int i = 0; i < 5 && !seen; ++i) {
        Envelope e = fresh();
        std::string id = commit(spool, e, "Received: x\r\n", "body\r\n");
        // Only the journal and memory hold it: no file until it has to wait.
        EXPECT_FALSE(std::filesystem::exists(dir.path() / id));
        std::string j = slurp(dir.path() / "journal" / "0") + slurp(dir.path() / "journal" / "1");
        ASSERT_TRUE(spool.settle(id).ok());
        std::string file = slurp(dir.path() / id);
        // Format 2: "J <id> <length> <generation> <crc>\n" + the file's bytes + "\n".
        std::size_t at = j.find("J " + id + " " + std::to_string(file.size()) + " ");
        seen = at != std::string::npos && j.find("\n" + file + "\n", at) == j.find('\n', at);
    }
    EXPECT_TRUE(seen);
}

TEST(SpoolJournal, ReplayRestoresAFileLostInACrash) {
    TempDir dir;
    std::string id, bytes;
    {
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok());
        Envelope e = fresh();
        id = commit(spool, e, "Received: x\r\n", "body\r\n");
        ASSERT_TRUE(spool.settle(id).ok());
        bytes = slurp(dir.path() / id);
    }
    // The power failed after the journal's fdatasync, before the file reached the disk:
    // the file is gone (or torn), the journal holds the acknowledged copy.
    spit(dir.path() / id, bytes.substr(0, bytes.size() / 2));
    spit(dir.path() / "journal" / "1", journal_record(id, bytes));
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    EXPECT_EQ(slurp(dir.path() / id), bytes);
    auto recovered = spool.recover();
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_EQ(recovered[0].id, id);
    auto msg = spool.read_message(id);
    ASSERT_TRUE(msg.ok());
    EXPECT_EQ(*msg, "Received: x\r\nbody\r\n");
    // The replay emptied the journals (everything is in durable files now): with the file
    // gone, nothing brings it back.
    std::filesystem::remove(dir.path() / id);
    Spool again(dir.path());
    ASSERT_TRUE(again.open().ok());
    EXPECT_FALSE(std::filesystem::exists(dir.path() / id));
    EXPECT_TRUE(again.recover().empty());
}

// Emptying a journal does not truncate it (format 2): it gets a header with the next
// generation, and records of an earlier generation left in the file never come back, even
// where one starts right after the header. (The record is built here by hand, as
// spool.cpp's header comment describes it; the same record of the current generation is
// replayed, which shows it is well formed.)
TEST(SpoolJournal, RecordsOfAnEarlierGenerationStayDead) {
    std::string bytes;
    {
        TempDir dir;
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok());
        Envelope e = sample();
        e.id = "GEN1";
        ASSERT_EQ(commit(spool, e, "", "m\r\n"), "GEN1");
        ASSERT_TRUE(spool.settle("GEN1").ok());
        bytes = slurp(dir.path() / "GEN1");
    }
    auto record = [&](int gen) {
        std::string fields = "J GEN1 " + std::to_string(bytes.size()) + " " + std::to_string(gen);
        uLong crc = crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
        crc = crc32(crc, reinterpret_cast<const Bytef*>(fields.data()), static_cast<uInt>(fields.size()));
        char hex[16];
        std::snprintf(hex, sizeof hex, "%08lx", crc);
        return fields + " " + hex + "\n" + bytes + "\n";
    };
    for (int gen : {4, 5}) {
        TempDir dir;
        std::filesystem::create_directories(dir.path() / "journal");
        spit(dir.path() / "journal" / "0", "RJ2 0000000000000005\n" + record(gen));
        spit(dir.path() / "journal" / "1", "");
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok());
        auto recovered = spool.recover();
        if (gen == 5) {
            ASSERT_EQ(recovered.size(), 1u);
            EXPECT_EQ(slurp(dir.path() / "GEN1"), bytes);
        } else {
            EXPECT_TRUE(recovered.empty());
            EXPECT_FALSE(std::filesystem::exists(dir.path() / "GEN1"));
        }
    }
}

// A record cut short by a crash (its crc does not match) ends the replay; the records
// before it count.
TEST(SpoolJournal, ARecordCutShortIsNotReplayed) {
    TempDir dir, copy;
    std::string first, second;
    std::string j;
    {
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok());
        Envelope e = fresh();
        first = commit(spool, e, "", "first\r\n");
        second = commit(spool, e, "", std::string(3000, 's'));
        j = slurp(dir.path() / "journal" / "0");
    }
    std::size_t at = j.find("J " + second + " ");
    ASSERT_NE(at, std::string::npos);
    std::string torn = j;
    torn[at + 2000] ^= 0x20;   // a byte of the second copy (its body) is not what was written
    std::filesystem::create_directories(copy.path() / "journal");
    spit(copy.path() / "journal" / "0", torn);
    spit(copy.path() / "journal" / "1", "");
    Spool spool(copy.path());
    ASSERT_TRUE(spool.open().ok());
    auto recovered = spool.recover();
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_EQ(recovered[0].id, first);
}

TEST(SpoolJournal, RemovedMessagesStayRemoved) {
    TempDir dir;
    std::string id, bytes;
    {
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok());
        Envelope e = fresh();
        id = commit(spool, e, "", "m\r\n");
        ASSERT_TRUE(spool.settle(id).ok());
        bytes = slurp(dir.path() / id);
        spool.remove(id);
        EXPECT_FALSE(std::filesystem::exists(dir.path() / id));
    }
    // A crash after delivery, before a checkpoint emptied the journal: the journal has
    // both the copy and the removal. The message must not come back ...
    spit(dir.path() / "journal" / "0", journal_record(id, bytes) + "RM " + id + "\n");
    {
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok());
        EXPECT_FALSE(std::filesystem::exists(dir.path() / id));
        EXPECT_TRUE(spool.recover().empty());
    }
    // ... not even when the unlink was lost and the file is still there.
    spit(dir.path() / id, bytes);
    spit(dir.path() / "journal" / "0", journal_record(id, bytes) + "RM " + id + "\n");
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    EXPECT_FALSE(std::filesystem::exists(dir.path() / id));
    EXPECT_TRUE(spool.recover().empty());
}

TEST(SpoolJournal, ATornTailIsIgnoredAndGarbageNeverCrashes) {
    TempDir dir;
    std::string bytes;
    {
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok());
        Envelope e = sample();
        e.id = "AAAA";
        ASSERT_EQ(commit(spool, e, "", "m\r\n"), "AAAA");
        ASSERT_TRUE(spool.settle("AAAA").ok());
        bytes = slurp(dir.path() / "AAAA");
        std::filesystem::remove(dir.path() / "AAAA");
    }
    std::string good = journal_record("AAAA", bytes);
    std::string torn = journal_record("BBBB", bytes).substr(0, 20);   // cut short mid-append
    spit(dir.path() / "journal" / "0", good + torn);
    // ... and the other journal is garbage (a different crash, a bad disk): no crash.
    static constexpr char kGarbage[] = "J ../../etc/passwd 99999999999999999999\n\0\xff";   // NUL and 0xff inside
    spit(dir.path() / "journal" / "1", std::string(kGarbage, sizeof kGarbage - 1));
    {
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok());
        auto recovered = spool.recover();
        ASSERT_EQ(recovered.size(), 1u);
        EXPECT_EQ(recovered[0].id, "AAAA");
        EXPECT_FALSE(std::filesystem::exists(dir.path() / "BBBB"));
    }
    // Every prefix of a valid journal replays without a crash.
    std::string j = good + "RM AAAA\n" + journal_record("CCCC", bytes);
    for (std::size_t n = 0; n <= j.size(); n += 7) {
        spit(dir.path() / "journal" / "0", j.substr(0, n));
        spit(dir.path() / "journal" / "1", "");
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok()) << n;
        spool.recover();
    }
    // The same for format 2 (what this version writes): every prefix, and every prefix with
    // one byte changed, of a journal with copies and a removal.
    std::string j2;
    {
        TempDir live;
        Spool spool(live.path());
        ASSERT_TRUE(spool.open().ok());
        Envelope e = fresh();
        std::string a = commit(spool, e, "", "a\r\n");
        commit(spool, e, "", "b\r\n");
        spool.remove(a);
        j2 = slurp(live.path() / "journal" / "0");
    }
    ASSERT_TRUE(j2.starts_with("RJ2 "));
    for (std::size_t n = 0; n <= j2.size(); n += 5) {
        for (int flip : {0, 1}) {
            std::string cut = j2.substr(0, n);
            if (flip && n > 0) cut[(n * 7) % n] ^= static_cast<char>(0x41);
            std::filesystem::remove_all(dir.path());
            std::filesystem::create_directories(dir.path() / "journal");
            spit(dir.path() / "journal" / "0", cut);
            spit(dir.path() / "journal" / "1", "");
            Spool spool(dir.path());
            ASSERT_TRUE(spool.open().ok()) << n;
            EXPECT_LE(spool.recover().size(), 2u) << n;   // a prefix before the removal holds both
        }
    }
}

TEST(SpoolCache, RecentMessagesAreReadFromMemoryAndRemovalForgetsThem) {
    TempDir dir;
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    Envelope e = fresh();
    std::string id = commit(spool, e, "Received: x\r\n", "body\r\n");
    // The file is gone (say, an operator removed it): the message still comes from memory,
    // byte for byte what the file held.
    ASSERT_TRUE(spool.settle(id).ok());
    std::string file = slurp(dir.path() / id);
    std::filesystem::remove(dir.path() / id);
    auto msg = spool.read_message(id);
    ASSERT_TRUE(msg.ok());
    EXPECT_EQ(*msg, "Received: x\r\nbody\r\n");
    spit(dir.path() / id, file);
    spool.remove(id);
    EXPECT_FALSE(spool.read_message(id).ok());
    // Messages over the per-entry bound are read from their file.
    Envelope big = fresh();
    std::string large(100 * 1024, 'b');
    std::string bid = commit(spool, big, "", large);
    ASSERT_TRUE(spool.settle(bid).ok());
    std::filesystem::remove(dir.path() / bid);
    EXPECT_FALSE(spool.read_message(bid).ok());
}

// Lazy files (spool.hpp): a message delivered before it has to wait never gets a file;
// one that waits gets it from append(); a checkpoint writes every one still in memory.
TEST(SpoolLazyFiles, DeliveredMessagesNeverTouchTheDirectory) {
    TempDir dir;
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    Envelope e = fresh();
    std::string id = commit(spool, e, "Received: x\r\n", "body\r\n");
    EXPECT_FALSE(std::filesystem::exists(dir.path() / id));
    auto msg = spool.read_message(id);
    ASSERT_TRUE(msg.ok());
    EXPECT_EQ(*msg, "Received: x\r\nbody\r\n");
    auto env = spool.read_envelope(id);
    ASSERT_TRUE(env.ok());
    EXPECT_EQ(env->sender, e.sender);
    EXPECT_EQ(env->recipients.size(), 2u);
    spool.remove(id);
    EXPECT_FALSE(spool.read_message(id).ok());
    spool.checkpoint();   // nothing left to write: still no file
    EXPECT_FALSE(std::filesystem::exists(dir.path() / id));
    EXPECT_TRUE(spool.recover().empty());
}

TEST(SpoolLazyFiles, AWaitingMessageGetsItsFileAndTheCheckpointWritesTheRest) {
    TempDir dir;
    std::string waiting, inflight;
    {
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok());
        Envelope e = fresh();
        waiting = commit(spool, e, "", "w\r\n");
        inflight = commit(spool, e, "", "i\r\n");
        asio::io_context io;
        auto fut = asio::co_spawn(io, spool.mark_done(waiting, {0}), asio::use_future);   // append(): the file first
        io.run();
        ASSERT_TRUE(fut.get().ok());
        EXPECT_TRUE(std::filesystem::exists(dir.path() / waiting));
        EXPECT_FALSE(std::filesystem::exists(dir.path() / inflight));
        spool.checkpoint();
        EXPECT_TRUE(std::filesystem::exists(dir.path() / inflight));
    }
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    auto recovered = spool.recover();
    ASSERT_EQ(recovered.size(), 2u);
    for (const Envelope& r : recovered) {
        if (r.id == waiting) {
            EXPECT_TRUE(r.recipients[0].done);
        } else {
            EXPECT_EQ(r.id, inflight);
            EXPECT_FALSE(r.recipients[0].done);
        }
    }
}

TEST(SpoolLazyFiles, ACrashBeforeAnyFileLosesNothing) {
    TempDir dir, copy;
    std::string kept, gone;
    {
        Spool spool(dir.path());
        ASSERT_TRUE(spool.open().ok());
        Envelope e = fresh();
        kept = commit(spool, e, "Received: x\r\n", "kept\r\n");
        gone = commit(spool, e, "", "gone\r\n");
        spool.remove(gone);
        // kill -9 now: only the journals are on disk (the destructor's checkpoint below
        // writes files, so the state is taken here).
        for (const char* j : {"0", "1"}) {
            std::filesystem::create_directories(copy.path() / "journal");
            std::filesystem::copy_file(dir.path() / "journal" / j, copy.path() / "journal" / j);
        }
        EXPECT_FALSE(std::filesystem::exists(dir.path() / kept));
    }
    Spool spool(copy.path());
    ASSERT_TRUE(spool.open().ok());
    auto recovered = spool.recover();
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_EQ(recovered[0].id, kept);
    auto msg = spool.read_message(kept);
    ASSERT_TRUE(msg.ok());
    EXPECT_EQ(*msg, "Received: x\r\nkept\r\n");
    EXPECT_FALSE(std::filesystem::exists(copy.path() / gone));
}

// remove() racing the checkpoint's writing must never leave a file behind (a file written
// after the removal would be delivered again after a restart).
TEST(SpoolLazyFiles, RemovalRacingTheCheckpointLeavesNoFile) {
    TempDir dir;
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    std::atomic<bool> stop{false};
    std::thread checkpoints([&] {
        while (!stop) spool.checkpoint();
    });
    for (int round = 0; round < 20; ++round) {
        std::vector<std::string> ids;
        for (int i = 0; i < 20; ++i) {
            Envelope e = fresh();
            ids.push_back(commit(spool, e, "", "r\r\n"));
        }
        for (const std::string& id : ids) spool.remove(id);
    }
    stop = true;
    checkpoints.join();
    for (const auto& f : std::filesystem::directory_iterator(dir.path()))
        EXPECT_FALSE(f.is_regular_file()) << f.path();
    EXPECT_TRUE(spool.recover().empty());
}

// The checkpoint makes durable exactly the files written since the last one, before it
// empties the journal that holds their copies: the ones it writes itself and the ones an
// append() wrote in between (their own sync may still be under way), but not the files of
// messages removed since. Beyond kSyncEachMax files it syncs the whole file system.
TEST(SpoolLazyFiles, TheCheckpointSyncsTheFilesWrittenSinceTheLastOne) {
    TempDir dir;
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    Envelope e = fresh();
    std::string settled = commit(spool, e, "", "s\r\n");
    std::string removed = commit(spool, e, "", "r\r\n");
    std::string inflight = commit(spool, e, "", "i\r\n");
    ASSERT_TRUE(spool.settle(settled).ok());   // what append() does first
    ASSERT_TRUE(spool.settle(removed).ok());
    spool.remove(removed);
    spool.checkpoint();
    EXPECT_EQ(spool.last_checkpoint_files(), 2u);   // settled and inflight
    EXPECT_TRUE(std::filesystem::exists(dir.path() / inflight));
    // The next checkpoint has only what was written since.
    std::string next = commit(spool, e, "", "n\r\n");
    spool.checkpoint();
    EXPECT_EQ(spool.last_checkpoint_files(), 1u);
    // Many files: one syncfs instead.
    for (std::size_t i = 0; i <= Spool::kSyncEachMax; ++i) {
        Envelope m = fresh();
        commit(spool, m, "", "m\r\n");
    }
    spool.checkpoint();
    EXPECT_EQ(spool.last_checkpoint_files(), 0u);
    EXPECT_EQ(spool.recover().size(), 3u + Spool::kSyncEachMax + 1);   // all but the removed one
}

// A message's id never names a file that is already there, whatever the clock says: a
// file from a previous run with a "later" id (the clock went back since) is not taken over.
TEST(SpoolLazyFiles, AnIdTakenByAnOlderFileIsNotReused) {
    TempDir dir;
    const std::string future = "FFFFFFFFFFFFF00000";
    ASSERT_TRUE(is_queue_id(future));
    std::filesystem::create_directories(dir.path());
    std::ofstream(dir.path() / future) << "someone else's";
    Spool spool(dir.path());
    ASSERT_TRUE(spool.open().ok());
    Envelope e = sample();
    e.id = future;
    std::string id = commit(spool, e, "", "m\r\n");
    EXPECT_NE(id, future);
    EXPECT_TRUE(is_queue_id(id));
    EXPECT_EQ(slurp(dir.path() / future), "someone else's");
    // And a fresh id is above none of the files' ids here, yet still free.
    Envelope f = fresh();
    std::string other = commit(spool, f, "", "m\r\n");
    EXPECT_NE(other, future);
    EXPECT_NE(other, id);
}
