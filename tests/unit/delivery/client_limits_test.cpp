// delivery::ClientConnection against a scripted hostile peer on a unix socket (issue 14): every
// reply is capped in lines, bytes and line length, and awaited within its own timeout and
// the attempt's deadline. open() fails and names the limit.
#include "delivery/client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <gtest/gtest.h>

using namespace rampart;
using namespace std::chrono_literals;

namespace {

// Sends `greeting`, then `ehlo_reply` after the client's first line, then reads until the
// client closes (bounded by SO_RCVTIMEO). MSG_NOSIGNAL: the client may hang up mid-reply.
struct Peer {
    std::filesystem::path path;
    int listener = -1;
    std::thread thread;

    Peer(std::string greeting, std::string ehlo_reply) {
        char tmpl[] = "/tmp/rampart-climit-XXXXXX";
        path = std::filesystem::path(mkdtemp(tmpl)) / "peer";
        listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
        EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(listener, 1), 0);
        timeval bound{20, 0};
        ::setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
        thread = std::thread([this, greeting, ehlo_reply] {
            int fd = ::accept(listener, nullptr, nullptr);
            if (fd < 0) return;
            timeval bound{20, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
            (void)!::send(fd, greeting.data(), greeting.size(), MSG_NOSIGNAL);
            std::string got;
            char buf[4096];
            bool replied = ehlo_reply.empty();
            while (true) {
                ssize_t n = ::read(fd, buf, sizeof buf);
                if (n <= 0) break;
                got.append(buf, static_cast<std::size_t>(n));
                if (!replied && got.find('\n') != std::string::npos) {
                    replied = true;
                    (void)!::send(fd, ehlo_reply.data(), ehlo_reply.size(), MSG_NOSIGNAL);
                }
            }
            ::close(fd);
        });
    }
    ~Peer() {
        if (thread.joinable()) thread.join();
        ::close(listener);
        std::filesystem::remove_all(path.parent_path());
    }
};

struct Opened {
    bool done = false;
    bool ok = false;
    delivery::OpenError error;
};

asio::awaitable<void> open_one(asio::io_context& io, std::string path, delivery::ClientOptions opt, Opened& out) {
    config::Endpoint peer{path, 0};   // a named value: GCC 12 destroys temporaries in co_await twice
    auto c = co_await delivery::ClientConnection::open(io.get_executor(), peer, opt);
    out.ok = bool(c);
    if (!c) out.error = c.error();
    out.done = true;
}

Opened run(Peer& peer, delivery::ClientOptions opt) {
    opt.helo_name = "mx.test";
    opt.tls = config::OutboundTls::None;
    asio::io_context io;
    Opened out;
    asio::co_spawn(io, open_one(io, peer.path.string(), opt, out), asio::detached);
    for (int i = 0; i < 200 && !out.done; ++i) io.run_for(100ms);   // bounded: 20 s
    io.run_for(10ms);   // let the connection close
    return out;
}

std::string lines(std::size_t n, std::size_t width) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += "250-" + std::string(width, 'X') + "\r\n";
    return out;
}

}  // namespace

TEST(ClientLimits, EhloReplyOfTooManyLines) {
    Peer peer("220 peer\r\n", "250-peer\r\n" + lines(delivery::kMaxReplyLines + 50, 4));
    Opened o = run(peer, {});
    ASSERT_TRUE(o.done);
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.error.limit, "reply_lines") << o.error.message;
    EXPECT_NE(o.error.message.find("256 lines"), std::string::npos) << o.error.message;
}

TEST(ClientLimits, EhloReplyOfTooManyBytes) {
    Peer peer("220 peer\r\n", "250-peer\r\n" + lines(100, 1000));   // 100 KB in 101 lines
    Opened o = run(peer, {});
    ASSERT_TRUE(o.done);
    EXPECT_EQ(o.error.limit, "reply_bytes") << o.error.message;
}

TEST(ClientLimits, ReplyLineTooLong) {
    Peer peer("220 " + std::string(delivery::kMaxReplyLineLength + 100, 'a'), "");   // no line end at all
    Opened o = run(peer, {});
    ASSERT_TRUE(o.done);
    EXPECT_EQ(o.error.limit, "reply_line_length") << o.error.message;
}

TEST(ClientLimits, UnfinishedGreetingTimesOut) {
    Peer peer("220-the rest never comes\r\n", "");
    delivery::ClientOptions opt;
    opt.greeting_timeout = 300ms;
    Opened o = run(peer, opt);
    ASSERT_TRUE(o.done);
    EXPECT_EQ(o.error.limit, "reply_timeout") << o.error.message;
}

TEST(ClientLimits, AttemptDeadlineEndsTheWait) {
    Peer peer("220-the rest never comes\r\n", "");
    delivery::ClientOptions opt;   // greeting_timeout stays 5 minutes
    opt.deadline = std::chrono::steady_clock::now() + 300ms;
    Opened o = run(peer, opt);
    ASSERT_TRUE(o.done);
    EXPECT_EQ(o.error.limit, "attempt_timeout") << o.error.message;
}
