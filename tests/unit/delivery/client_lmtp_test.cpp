// The LMTP mode of delivery::ClientConnection against a scripted peer on a unix socket:
// LHLO, one reply per accepted recipient after the data, and a connection lost between
// those replies (RFC 2033 §4.2).
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

namespace {

struct Peer {
    std::filesystem::path path;
    int listener = -1;
    std::string received;   // everything the client sent
    std::thread thread;

    // `script`: pairs of (wait until the input ends with this, then send that).
    Peer(std::vector<std::pair<std::string, std::string>> script) {
        char tmpl[] = "/tmp/rampart-lmtp-XXXXXX";
        path = std::filesystem::path(mkdtemp(tmpl)) / "lmtp";
        listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
        EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(listener, 1), 0);
        timeval bound{20, 0};   // accept and every read give up after 20 s (no unbounded wait)
        ::setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
        thread = std::thread([this, script] {
            int fd = ::accept(listener, nullptr, nullptr);
            if (fd < 0) return;
            timeval bound{20, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
            for (const auto& [until, reply] : script) {
                while (until.size() > received.size() || received.compare(received.size() - until.size(), until.size(), until) != 0) {
                    char buf[4096];
                    ssize_t n = ::read(fd, buf, sizeof buf);
                    if (n <= 0) break;
                    received.append(buf, static_cast<std::size_t>(n));
                }
                (void)!::write(fd, reply.data(), reply.size());
            }
            ::close(fd);   // the script ends: the connection is lost
        });
    }
    ~Peer() {
        if (thread.joinable()) thread.join();
        ::close(listener);
        std::filesystem::remove_all(path.parent_path());
    }
};

struct Outcome {
    bool opened = false;
    std::string error;
    delivery::TransactionResult res;
};

asio::awaitable<void> run_client(asio::io_context& io, const std::string& path, const queue::Envelope& env,
                                 const std::vector<std::size_t>& idx, Outcome& out) {
    delivery::ClientOptions opt;
    opt.helo_name = "mx.test";
    opt.tls = config::OutboundTls::None;
    opt.lmtp = true;
    opt.command_timeout = std::chrono::seconds(10);
    opt.data_timeout = std::chrono::seconds(10);
    config::Endpoint peer{path, 0};   // a named value: GCC 12 destroys temporaries in co_await twice
    auto c = co_await delivery::ClientConnection::open(io.get_executor(), peer, opt);
    if (!c) {
        out.error = c.error().message;
        co_return;
    }
    out.opened = true;
    std::unique_ptr<delivery::ClientConnection> conn = std::move(*c);
    std::string_view message = "Subject: t\r\n\r\nbody\r\n";
    delivery::TransactionResult r = co_await conn->send(env, idx, message);
    out.res = std::move(r);
}

queue::Envelope envelope(std::initializer_list<std::string> rcpts) {
    queue::Envelope env;
    env.id = "T1";
    env.sender = "s@outside.test";
    for (const std::string& r : rcpts) {
        queue::Recipient x;
        x.address = r;
        env.recipients.push_back(x);
    }
    return env;
}

}  // namespace

TEST(ClientLmtp, OneReplyPerAcceptedRecipientAndALostConnection) {
    Peer peer({{"", "220 store LMTP\r\n"},
               {"\r\n", "250-store\r\n250-PIPELINING\r\n250 CHUNKING\r\n"},
               {"DATA\r\n", "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 unknown\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go\r\n"},
               {"\r\n.\r\n", "250 2.0.0 a saved\r\n452 4.2.2 c over quota\r\n"}});
    queue::Envelope env = envelope({"a@example.test", "b@example.test", "c@example.test", "d@example.test"});
    asio::io_context io;
    Outcome out;
    std::string path = peer.path.string();
    std::vector<std::size_t> idx{0, 1, 2, 3};
    asio::co_spawn(io, run_client(io, path, env, idx, out), asio::detached);
    io.run_for(std::chrono::seconds(20));
    peer.thread.join();   // the script has ended (the client saw the connection close)
    ASSERT_TRUE(out.opened) << out.error;
    EXPECT_EQ(peer.received.rfind("LHLO mx.test\r\n", 0), 0u) << peer.received;
    EXPECT_EQ(peer.received.find("BDAT"), std::string::npos);   // DATA only in LMTP
    ASSERT_EQ(out.res.rcpt.size(), 4u);
    EXPECT_EQ(out.res.rcpt[1].code, 550);
    ASSERT_EQ(out.res.lmtp_data.size(), 3u);                   // a, c, d (b was refused)
    EXPECT_EQ(out.res.lmtp_data[0].code, 250);
    EXPECT_EQ(out.res.lmtp_data[1].code, 452);
    EXPECT_EQ(out.res.lmtp_data[1].status(), "4.2.2");
    EXPECT_EQ(out.res.lmtp_data[2].code, 0);                   // lost before d's reply
    EXPECT_FALSE(out.res.connection_usable);
}

TEST(ClientLmtp, NoHeloFallback) {
    Peer peer({{"", "220 store LMTP\r\n"}, {"\r\n", "500 5.5.1 what\r\n"}});
    asio::io_context io;
    Outcome out;
    queue::Envelope env = envelope({"a@example.test"});
    std::string path = peer.path.string();
    std::vector<std::size_t> idx{0};
    asio::co_spawn(io, run_client(io, path, env, idx, out), asio::detached);
    io.run_for(std::chrono::seconds(20));
    peer.thread.join();   // the script has ended (the client saw the connection close)
    EXPECT_FALSE(out.opened);
    EXPECT_NE(out.error.find("LHLO"), std::string::npos) << out.error;
    EXPECT_EQ(peer.received.find("HELO"), std::string::npos) << peer.received;
}
