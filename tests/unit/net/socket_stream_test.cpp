// Tests for net/socket_stream.cpp's deadlines (the lazy deadline timer of issue 13): a
// read times out, a shorter deadline after a longer one still takes effect, a longer one
// after a shorter one does not cut the read short, and an idle stream between operations
// is never cancelled. Real loopback sockets; every run of the context is bounded.
#include "net/socket_stream.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace rampart::net {
namespace {

using namespace std::chrono_literals;

// A connected pair on 127.0.0.1: `server` wrapped in a TcpStream, `client` raw.
struct Pair {
    asio::io_context io{1};
    asio::ip::tcp::socket client{io};
    std::optional<TcpStream> server;

    Pair() {
        asio::ip::tcp::acceptor acc(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        client.connect(acc.local_endpoint());
        server.emplace(acc.accept());
    }
    // Runs until `done` or 20 s pass (a bound, not a timing assertion).
    void run_until(const bool& done) {
        auto until = std::chrono::steady_clock::now() + 20s;
        while (!done && std::chrono::steady_clock::now() < until) {
            io.restart();
            io.run_for(50ms);
        }
    }
    void send_later(std::string data, std::chrono::milliseconds after) {
        asio::co_spawn(io, [this, data, after]() -> asio::awaitable<void> {
            asio::steady_timer t(io, after);
            co_await t.async_wait(asio::use_awaitable);
            co_await asio::async_write(client, asio::buffer(data), asio::use_awaitable);
        }, asio::detached);
    }
};

TEST(SocketStream, ReadWithNothingToReadTimesOut) {
    Pair p;
    bool done = false;
    std::size_t n = 99;
    asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
        char buf[16];
        n = co_await p.server->read_some(asio::buffer(buf), 100ms);
        done = true;
    }, asio::detached);
    p.run_until(done);
    ASSERT_TRUE(done);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(p.server->end(), StreamEnd::Timeout);
}

TEST(SocketStream, ShorterDeadlineAfterALongerOneStillTimesOut) {
    // The first read's deadline (an hour) stays pending in the timer; the second read's
    // (100 ms) is earlier, so the timer must be moved, or the read would wait an hour.
    Pair p;
    p.send_later("a", 0ms);
    bool done = false;
    std::size_t first = 0, second = 99;
    asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
        char buf[16];
        first = co_await p.server->read_some(asio::buffer(buf), std::chrono::hours(1));
        second = co_await p.server->read_some(asio::buffer(buf), 100ms);
        done = true;
    }, asio::detached);
    p.run_until(done);
    ASSERT_TRUE(done);
    EXPECT_EQ(first, 1u);
    EXPECT_EQ(second, 0u);
    EXPECT_EQ(p.server->end(), StreamEnd::Timeout);
}

TEST(SocketStream, LongerDeadlineAfterAShorterOneDoesNotCutTheReadShort) {
    // The first read (deadline 200 ms) completes at once; its timer stays pending and fires
    // while the second read (deadline an hour) waits for data sent 600 ms later: it must
    // wait on, not time the second read out.
    Pair p;
    p.send_later("a", 0ms);
    p.send_later("b", 600ms);
    bool done = false;
    std::size_t first = 0, second = 0;
    asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
        char buf[16];
        first = co_await p.server->read_some(asio::buffer(buf), 200ms);
        second = co_await p.server->read_some(asio::buffer(buf), std::chrono::hours(1));
        done = true;
    }, asio::detached);
    p.run_until(done);
    ASSERT_TRUE(done);
    EXPECT_EQ(first, 1u);
    EXPECT_EQ(second, 1u);
    EXPECT_EQ(p.server->end(), StreamEnd::None);
}

TEST(SocketStream, DeadlinePassingBetweenOperationsCancelsNothing) {
    // A read with a 100 ms deadline completes; the stream then sits idle past that deadline
    // (no operation in flight); a later read must still work.
    Pair p;
    p.send_later("a", 0ms);
    p.send_later("b", 500ms);
    bool done = false;
    std::size_t first = 0, second = 0;
    asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
        char buf[1];
        first = co_await p.server->read_some(asio::buffer(buf), 100ms);
        asio::steady_timer idle(p.io, 300ms);
        co_await idle.async_wait(asio::use_awaitable);
        second = co_await p.server->read_some(asio::buffer(buf), std::chrono::hours(1));
        done = true;
    }, asio::detached);
    p.run_until(done);
    ASSERT_TRUE(done);
    EXPECT_EQ(first, 1u);
    EXPECT_EQ(second, 1u);
    EXPECT_EQ(p.server->end(), StreamEnd::None);
}

}  // namespace
}  // namespace rampart::net
