// The arriving message: bounded buffer, spill file, one view at the end, nothing left behind.
#include "queue/incoming.hpp"

#include <sys/stat.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <gtest/gtest.h>

#include "queue/spool.hpp"
#include "smtp/data_reader.hpp"

using namespace rampart::queue;

namespace {

class IncomingTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/rampart-incoming-XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::size_t files() const {
        std::size_t n = 0;
        for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir_)) ++n;
        return n;
    }
    // Distinct bytes at every offset, so a lost or repeated chunk shows.
    static std::string pattern(std::size_t n) {
        std::string s;
        s.reserve(n);
        for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('a' + (i * 7 + i / 26) % 26);
        return s;
    }

    std::filesystem::path dir_;
};

}  // namespace

TEST_F(IncomingTest, SmallMessageNeverTouchesTheDisk) {
    IncomingMessage m;
    m.start(dir_, 1024);
    m.append("Subject: x\r\n\r\nhello\r\n");
    EXPECT_FALSE(m.spilled());
    EXPECT_EQ(files(), 0u);
    auto v = m.finish();
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, "Subject: x\r\n\r\nhello\r\n");
    EXPECT_EQ(files(), 0u);
}

TEST_F(IncomingTest, LargeMessageSpillsAndIsReadBackWhole) {
    const std::string data = pattern(100000);
    IncomingMessage m;
    m.start(dir_, 4096);
    for (std::size_t i = 0; i < data.size(); i += 1000) {
        m.append(std::string_view(data).substr(i, 1000));
        EXPECT_LT(m.buffer().size(), 4096u);   // memory stays bounded by the buffer
    }
    EXPECT_TRUE(m.spilled());
    EXPECT_EQ(m.size(), data.size());
    ASSERT_EQ(files(), 1u);
    struct stat st {};
    ASSERT_EQ(::stat(m.file().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(m.file().extension(), ".tmp");
    auto v = m.finish();
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->size(), data.size());
    EXPECT_TRUE(*v == data);
    auto again = m.finish();   // idempotent: the same mapping
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->data(), v->data());
    m.reset();
    EXPECT_EQ(files(), 0u);
    EXPECT_FALSE(m.started());
}

TEST_F(IncomingTest, DataReaderStreamsIntoIt) {
    // Dot-stuffed DATA in uneven chunks, as a session reads it; the un-stuffed message
    // comes out whole while the buffer never holds more than the spill size plus a chunk.
    std::string message;
    for (int i = 0; i < 3000; ++i) message += (i % 10 == 0 ? ".dot line " : "line ") + std::to_string(i) + "\r\n";
    std::string wire = rampart::smtp::dot_stuff(message);
    rampart::smtp::DataReader reader(1 << 20, 998);
    IncomingMessage m;
    m.start(dir_, 2048);
    std::string_view in(wire);
    rampart::smtp::DataReader::Status st = rampart::smtp::DataReader::Status::NeedMore;
    while (!in.empty() && st == rampart::smtp::DataReader::Status::NeedMore) {
        std::string_view chunk = in.substr(0, 777);
        std::size_t used = 0;
        st = reader.feed(chunk, used, m.buffer());
        m.spill();
        EXPECT_LE(m.buffer().size(), 2048u + 777u);
        in.remove_prefix(used);
    }
    ASSERT_EQ(st, rampart::smtp::DataReader::Status::Done);
    EXPECT_TRUE(in.empty());
    EXPECT_TRUE(m.spilled());
    auto v = m.finish();
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(*v == message);
    EXPECT_EQ(reader.size(), message.size());
}

TEST_F(IncomingTest, DestructorRemovesTheFile) {
    {
        IncomingMessage m;
        m.start(dir_, 16);
        m.append(pattern(100));
        EXPECT_EQ(files(), 1u);
    }
    EXPECT_EQ(files(), 0u);
}

TEST_F(IncomingTest, StartDropsThePreviousMessage) {
    IncomingMessage m;
    m.start(dir_, 16);
    m.append(pattern(100));
    ASSERT_TRUE(m.finish().ok());
    m.start(dir_, 16);
    EXPECT_EQ(files(), 0u);
    EXPECT_EQ(m.size(), 0u);
    m.append("abc");
    auto v = m.finish();
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, "abc");
}

TEST_F(IncomingTest, WriteErrorIsReportedAtTheEndAndLaterBytesAreDropped) {
    IncomingMessage m;
    m.start(dir_ / "missing", 16);   // the file cannot be created
    m.append(pattern(100));
    m.append(pattern(100));
    EXPECT_EQ(m.buffer().size(), 0u);   // nothing piles up in memory after the error
    auto v = m.finish();
    ASSERT_FALSE(v.ok());
    EXPECT_NE(v.error().message.find("missing"), std::string::npos) << v.error().message;
    m.reset();
    EXPECT_EQ(files(), 0u);
}

TEST_F(IncomingTest, EmptyMessage) {
    IncomingMessage m;
    m.start(dir_, 16);
    auto v = m.finish();
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->empty());
}

TEST_F(IncomingTest, SpoolOpenCreatesTheDirectoryAndRecoverRemovesDebris) {
    rampart::queue::Spool spool(dir_ / "spool");
    ASSERT_TRUE(spool.open().ok());
    ASSERT_TRUE(std::filesystem::is_directory(spool.incoming_dir()));
    // A committed message next to a message that was arriving when the server died.
    Envelope env;
    env.listener = "default";
    env.client = "127.0.0.1";
    env.helo = "c.test";
    env.sender = "a@b.test";
    env.recipients = {{"x@example.test", 0, "", false, {}, {}}};
    asio::io_context io;
    auto fut = asio::co_spawn(io, spool.commit(env, "Received: x\r\n", "body\r\n"), asio::use_future);
    io.run();
    auto id = fut.get();
    ASSERT_TRUE(id.ok());
    {
        IncomingMessage m;
        m.start(spool.incoming_dir(), 16);
        m.append(pattern(1000));
        ASSERT_TRUE(m.spilled());
        // Simulate the crash: copy the file aside before the destructor removes it.
        std::filesystem::copy_file(m.file(), spool.incoming_dir() / "crashed.tmp");
    }
    ASSERT_TRUE(std::filesystem::exists(spool.incoming_dir() / "crashed.tmp"));
    auto recovered = spool.recover();
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_EQ(recovered[0].id, *id);
    EXPECT_FALSE(std::filesystem::exists(spool.incoming_dir() / "crashed.tmp"));
    EXPECT_TRUE(std::filesystem::is_directory(spool.incoming_dir()));
}

TEST_F(IncomingTest, CommitCopiesTheMappedMessageThenTheIncomingFileGoes) {
    rampart::queue::Spool spool(dir_ / "spool");
    ASSERT_TRUE(spool.open().ok());
    const std::string data = pattern(300000);
    IncomingMessage m;
    m.start(spool.incoming_dir(), 4096);
    m.append(data);
    auto view = m.finish();
    ASSERT_TRUE(view.ok());
    Envelope env;
    env.listener = "default";
    env.client = "127.0.0.1";
    env.helo = "c.test";
    env.sender = "a@b.test";
    env.recipients = {{"x@example.test", 0, "", false, {}, {}}};
    int copied = 0;
    bool file_there_when_copied = false;
    asio::io_context io;
    auto fut = asio::co_spawn(io,
                              spool.commit(env, "Received: x\r\n", *view, {},
                                           [&] {
                                               ++copied;
                                               file_there_when_copied = std::filesystem::exists(m.file());
                                               m.reset();
                                           }),
                              asio::use_future);
    io.run();
    auto id = fut.get();
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(copied, 1);
    EXPECT_TRUE(file_there_when_copied);
    EXPECT_TRUE(std::filesystem::is_empty(spool.incoming_dir()));
    auto stored = spool.read_message(*id);
    ASSERT_TRUE(stored.ok());
    EXPECT_TRUE(*stored == "Received: x\r\n" + data);
}
