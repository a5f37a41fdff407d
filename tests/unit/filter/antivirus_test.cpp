// The antivirus agent's decision, and the clamd client against a peer written here that
// answers as clamd would, or badly (garbage, silence, a refused connection).
#include "filter/antivirus.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>

#include "filter/clamd.hpp"

using namespace rampart;
using Kind = filter::AgentVerdict::Kind;
using RKind = filter::ClamdReply::Kind;

namespace {

config::AntivirusEngine engine(std::string name, std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    config::AntivirusEngine e;
    e.name = std::move(name);
    e.address = {"127.0.0.1", port};
    e.timeout = timeout;
    return e;
}

filter::Antivirus agent(std::vector<config::AntivirusEngine> engines, config::OnInfected inf = config::OnInfected::Reject,
                        config::OnEngineError err = config::OnEngineError::Tempfail) {
    config::AntivirusSettings s;
    s.engines = std::move(engines);
    s.on_infected = inf;
    s.on_error = err;
    s.configured = true;
    return filter::Antivirus(s);
}

filter::ClamdReply clean() { return {RKind::Clean, {}, {}}; }
filter::ClamdReply infected(std::string sig) { return {RKind::Infected, std::move(sig), {}}; }
filter::ClamdReply broken(std::string e) { return {RKind::Error, {}, std::move(e)}; }

}  // namespace

TEST(Antivirus, CleanOnlyWhenEveryEngineSaysClean) {
    auto a = agent({engine("one", 1), engine("two", 2)});
    EXPECT_EQ(a.decide({clean(), clean()}).kind, Kind::Continue);
    auto v = a.decide({clean(), infected("Test.EICAR")});
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.reply.summary(), "554 5.7.1 message refused: virus found: Test.EICAR");
    EXPECT_EQ(v.rule, "antivirus.on_infected");
    EXPECT_EQ(v.reason, "engine two found Test.EICAR");
}

TEST(Antivirus, FailsClosedUnlessAcceptIsWritten) {
    auto a = agent({engine("one", 1), engine("two", 2)});
    auto v = a.decide({clean(), broken("cannot connect")});
    EXPECT_EQ(v.kind, Kind::Tempfail);
    EXPECT_EQ(v.reply.summary(), "451 4.7.1 virus scan unavailable; try again later");
    EXPECT_EQ(v.reason, "engine two failed: cannot connect");
    // An infection found by one engine wins over another's failure.
    EXPECT_EQ(a.decide({infected("X"), broken("down")}).kind, Kind::Refuse);
    auto accepting = agent({engine("one", 1)}, config::OnInfected::Reject, config::OnEngineError::Accept);
    EXPECT_EQ(accepting.decide({broken("down")}).kind, Kind::Continue);
    EXPECT_EQ(accepting.decide({infected("X")}).kind, Kind::Refuse);
}

TEST(Antivirus, QuarantineInsteadOfReject) {
    auto a = agent({engine("one", 1)}, config::OnInfected::Quarantine);
    auto v = a.decide({infected("Test.EICAR")});
    EXPECT_EQ(v.kind, Kind::Quarantine);
    EXPECT_EQ(v.rule, "antivirus.on_infected");
}

namespace {

// A one-connection peer: reads the INSTREAM stream (checking its framing), then sends
// `answer` (or nothing, and keeps the connection open, when `silent`).
struct Peer {
    asio::ip::tcp::acceptor acceptor;
    std::string received;   // the data chunks, joined
    std::string command;
    explicit Peer(asio::io_context& io) : acceptor(io, {asio::ip::make_address("127.0.0.1"), 0}) {}
    std::uint16_t port() const { return acceptor.local_endpoint().port(); }
    asio::awaitable<void> serve(std::string answer, bool silent) {
        auto s = co_await acceptor.async_accept(asio::use_awaitable);
        command.resize(10);
        co_await asio::async_read(s, asio::buffer(command), asio::use_awaitable);
        while (true) {
            unsigned char len[4];
            co_await asio::async_read(s, asio::buffer(len), asio::use_awaitable);
            std::size_t n = (std::size_t{len[0]} << 24) | (len[1] << 16) | (len[2] << 8) | len[3];
            if (n == 0) break;
            if (n > filter::kClamdChunk) throw std::runtime_error("chunk too big");
            std::string chunk(n, '\0');
            co_await asio::async_read(s, asio::buffer(chunk), asio::use_awaitable);
            received += chunk;
        }
        if (silent) {
            asio::steady_timer t(s.get_executor(), std::chrono::seconds(30));
            std::error_code ec;
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        co_await asio::async_write(s, asio::buffer(answer), asio::use_awaitable);
    }
};

// A free coroutine (not a lambda: a lambda's captures die with the temporary lambda).
asio::awaitable<void> scan_into(filter::ClamdReply* out, config::Endpoint address, std::string_view message,
                                std::chrono::milliseconds timeout, asio::io_context* stop) {
    *out = co_await filter::clamd_scan(address, message, timeout);
    if (stop) stop->stop();
}

filter::ClamdReply scan_with(std::string answer, bool silent, std::string_view message, std::string* received = nullptr,
                             std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    asio::io_context io;
    Peer peer(io);
    asio::co_spawn(io, peer.serve(std::move(answer), silent), asio::detached);
    filter::ClamdReply out;
    asio::co_spawn(io, scan_into(&out, {"127.0.0.1", peer.port()}, message, timeout, &io), asio::detached);
    io.run();
    if (received) *received = peer.command + "|" + peer.received;
    return out;
}

}  // namespace

TEST(ClamdClient, SendsInstreamInChunksAndReadsTheVerdict) {
    std::string big(200 * 1024 + 17, 'x');   // four chunks
    std::string received;
    auto r = scan_with(std::string("stream: Test.Sig FOUND\0", 23), false, big, &received);
    EXPECT_EQ(r.kind, RKind::Infected);
    EXPECT_EQ(r.signature, "Test.Sig");
    EXPECT_EQ(received, std::string("zINSTREAM\0", 10) + "|" + big);
    EXPECT_EQ(scan_with(std::string("stream: OK\0", 11), false, "hello").kind, RKind::Clean);
}

TEST(ClamdClient, GarbageSilenceAndRefusalAreErrors) {
    auto g = scan_with("HTTP/1.0 400 Bad Request\r\n\r\n", false, "hello");
    EXPECT_EQ(g.kind, RKind::Error);
    auto slow = scan_with("", true, "hello", nullptr, std::chrono::milliseconds(200));
    EXPECT_EQ(slow.kind, RKind::Error);
    EXPECT_NE(slow.error.find("no verdict from clamd within 200 ms"), std::string::npos) << slow.error;
    // A port nobody listens on: bind one, note it, close it.
    std::uint16_t port;
    {
        asio::io_context io;
        asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    }
    asio::io_context io;
    filter::ClamdReply out;
    asio::co_spawn(io, scan_into(&out, {"127.0.0.1", port}, "hello", std::chrono::seconds(5), nullptr), asio::detached);
    io.run();
    EXPECT_EQ(out.kind, RKind::Error);
    EXPECT_NE(out.error.find("cannot connect to clamd"), std::string::npos) << out.error;
}

TEST(Antivirus, CachedVerdictsSayCached) {
    auto a = agent({engine("one", 1), engine("two", 2)});
    filter::ClamdReply hit = infected("Test.EICAR");
    hit.cached = true;
    auto v = a.decide({clean(), hit});
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.reason, "engine two found Test.EICAR (cached)");
    filter::ClamdReply cached_clean = clean();
    cached_clean.cached = true;
    EXPECT_EQ(a.decide({cached_clean, clean()}).reason, "every engine says clean (cached: one)");
}
