// Pure part of the MX look-up: ordering and null MX (RFC 5321 §5.1, RFC 7505).
#include "dns/resolver.hpp"

#include <gtest/gtest.h>

using rampart::dns::MxHost;
using rampart::dns::order_mx;

TEST(OrderMx, SortsByPreferenceStably) {
    auto r = order_mx("mx.test", {{"c.mx.test", 20, {}}, {"a.mx.test", 10, {}}, {"b.mx.test", 10, {}}, {"d.mx.test", 5, {}}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 4u);
    EXPECT_EQ((*r)[0].name, "d.mx.test");
    EXPECT_EQ((*r)[1].name, "a.mx.test");
    EXPECT_EQ((*r)[2].name, "b.mx.test");
    EXPECT_EQ((*r)[3].name, "c.mx.test");
}

TEST(OrderMx, NullMxIsPermanent) {
    auto r = order_mx("nullmx.test", {{".", 0, {}}});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().permanent);
    EXPECT_NE(r.error().message.find("null MX"), std::string::npos);
}

TEST(OrderMx, RootAmongOthersIsDropped) {
    auto r = order_mx("mixed.test", {{".", 0, {}}, {"mx.mixed.test", 10, {}}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].name, "mx.mixed.test");
}

TEST(OrderMx, EmptyIsPermanent) {
    auto r = order_mx("none.test", {});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().permanent);
}

TEST(MorePreferredThanSelf, SelfNotListedKeepsAll) {
    bool loops = true;
    auto r = rampart::dns::more_preferred_than_self({{"a.mx.test", 10, {}}, {"b.mx.test", 20, {}}}, "mx1.example.test", loops);
    EXPECT_FALSE(loops);
    EXPECT_EQ(r.size(), 2u);
}

TEST(MorePreferredThanSelf, DropsSelfAndLessPreferred) {
    bool loops = true;
    auto r = rampart::dns::more_preferred_than_self({{"a.mx.test", 5, {}}, {"mx1.example.test", 10, {}}, {"b.mx.test", 10, {}},
                                       {"c.mx.test", 20, {}}},
                                      "MX1.Example.Test.", loops);
    EXPECT_FALSE(loops);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].name, "a.mx.test");
}

TEST(MorePreferredThanSelf, SelfMostPreferredLoops) {
    bool loops = false;
    auto r = rampart::dns::more_preferred_than_self({{"mx1.example.test", 10, {}}, {"b.mx.test", 20, {}}}, "mx1.example.test", loops);
    EXPECT_TRUE(loops);
    EXPECT_TRUE(r.empty());
}

// ---- The shared resolver against a DNS server run by the test (UDP and TCP on one
// loopback port, answering from a table and counting the questions it gets) ----

#include <cctype>
#include <functional>
#include <map>
#include <optional>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "dns/dns_wire.hpp"

namespace {

using namespace rampart::dns;
using namespace rampart::dns::testing;
namespace config = rampart::config;

struct TestServer {
    // (name, type, over_tcp) → the answer (its id is filled in); nullopt: stay silent.
    std::function<std::optional<Reply>(const std::string&, std::uint16_t, bool)> answer;
    std::map<std::string, int> asked;   // "TYPE name" → questions received (UDP and TCP)
    int tcp_asked = 0;
    bool serving = false;
    asio::ip::udp::socket udp;
    asio::ip::tcp::acceptor tcp;

    explicit TestServer(asio::io_context& ctx)
        : udp(ctx, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), tcp(ctx) {
        asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), udp.local_endpoint().port());
        tcp.open(ep.protocol());
        tcp.bind(ep);
        tcp.listen();
    }
    std::uint16_t port() const { return udp.local_endpoint().port(); }

    // The question of a query: id, lower-case name, type.
    static bool question(const std::vector<std::uint8_t>& q, std::uint16_t& id, std::string& name, std::uint16_t& type) {
        if (q.size() < 17) return false;
        id = static_cast<std::uint16_t>((q[0] << 8) | q[1]);
        std::size_t p = 12;
        name.clear();
        while (p < q.size() && q[p] != 0) {
            std::size_t n = q[p];
            if (p + 1 + n > q.size()) return false;
            if (!name.empty()) name += '.';
            for (std::size_t i = 0; i < n; ++i) name += static_cast<char>(std::tolower(q[p + 1 + i]));
            p += 1 + n;
        }
        if (p + 3 > q.size()) return false;
        type = static_cast<std::uint16_t>((q[p + 1] << 8) | q[p + 2]);
        return true;
    }
    std::optional<std::vector<std::uint8_t>> respond(const std::vector<std::uint8_t>& q, bool over_tcp) {
        std::uint16_t id = 0, type = 0;
        std::string name;
        if (!question(q, id, name, type)) return std::nullopt;
        ++asked[std::to_string(type) + " " + name];
        if (over_tcp) ++tcp_asked;
        std::optional<Reply> r = answer(name, type, over_tcp);
        if (!r) return std::nullopt;
        r->id = id;
        return encode(*r);
    }
};

asio::awaitable<void> serve_udp(TestServer& s) {
    std::vector<std::uint8_t> buf(4096);
    asio::ip::udp::endpoint from;
    for (;;) {
        std::size_t n = co_await s.udp.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);
        if (auto out = s.respond({buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)}, false))
            co_await s.udp.async_send_to(asio::buffer(*out), from, asio::use_awaitable);
    }
}

asio::awaitable<void> serve_tcp(TestServer& s) {
    for (;;) {
        asio::ip::tcp::socket c = co_await s.tcp.async_accept(asio::use_awaitable);
        std::uint8_t len[2];
        co_await asio::async_read(c, asio::buffer(len), asio::use_awaitable);
        std::vector<std::uint8_t> q(static_cast<std::size_t>((len[0] << 8) | len[1]));
        co_await asio::async_read(c, asio::buffer(q), asio::use_awaitable);
        if (auto out = s.respond(q, true)) {
            std::vector<std::uint8_t> framed(2 + out->size());
            framed[0] = static_cast<std::uint8_t>(out->size() >> 8);
            framed[1] = static_cast<std::uint8_t>(out->size());
            std::copy(out->begin(), out->end(), framed.begin() + 2);
            co_await asio::async_write(c, asio::buffer(framed), asio::use_awaitable);
        }
    }
}

config::DnsSettings settings_for(const TestServer& s, std::size_t cache_entries = 100) {
    config::DnsSettings d;
    d.servers.push_back(config::Endpoint{"127.0.0.1", s.port()});
    d.timeout = std::chrono::milliseconds(200);
    d.cache_entries = cache_entries;
    return d;
}

// Runs `body` on `ctx` (with the test server) until it returns.
template <class T>
T run(asio::io_context& ctx, TestServer& s, asio::awaitable<T> body) {
    if (!s.serving) {
        asio::co_spawn(ctx, serve_udp(s), asio::detached);
        asio::co_spawn(ctx, serve_tcp(s), asio::detached);
        s.serving = true;
    }
    std::optional<T> out;
    asio::co_spawn(ctx, std::move(body), [&](std::exception_ptr e, T v) {
        if (e) std::rethrow_exception(e);
        out = std::move(v);
        ctx.stop();
    });
    ctx.run();
    return std::move(*out);
}

Reply txt_reply(const std::string& name, std::string text, std::uint32_t ttl) {
    Reply r = reply(0, name, rr_type::TXT);
    r.answers.push_back({rr_type::TXT, ttl, txt_rdata(text), ""});
    return r;
}

asio::awaitable<std::vector<Records>> ask_txt_times(Resolver& r, std::string name, int times) {
    std::vector<Records> out;
    for (int i = 0; i < times; ++i) out.push_back(co_await r.lookup_records(name, RecordType::Txt));
    co_return out;
}

}  // namespace

TEST(Resolver, SecondQuestionIsAnsweredFromTheCache) {
    asio::io_context ctx(1);
    TestServer s(ctx);
    s.answer = [](const std::string& n, std::uint16_t, bool) { return txt_reply(n, "v=spf1 -all", 300); };
    Resolver r(settings_for(s));
    auto got = run(ctx, s, ask_txt_times(r, "Bench.Test.", 3));
    for (const Records& g : got) {
        ASSERT_EQ(g.status, RecordStatus::Found);
        EXPECT_EQ(g.values, std::vector<std::string>{"v=spf1 -all"});
    }
    EXPECT_EQ(s.asked["16 bench.test"], 1);
    EXPECT_EQ(r.stats().sent, 1u);
    EXPECT_EQ(r.stats().cache_hits, 2u);
    auto peek = r.cached("bench.test", rr_type::TXT);   // without asking
    ASSERT_TRUE(peek);
    EXPECT_EQ(peek->records.at(0).value, "v=spf1 -all");
    EXPECT_FALSE(r.cached("other.test", rr_type::TXT));
    EXPECT_EQ(s.asked.size(), 1u);
}

TEST(Resolver, ZeroTtlAndNoCacheAskEveryTime) {
    asio::io_context ctx(1);
    TestServer s(ctx);
    s.answer = [](const std::string& n, std::uint16_t, bool) { return txt_reply(n, "x", n == "zero.test" ? 0 : 300); };
    Resolver r(settings_for(s));
    run(ctx, s, ask_txt_times(r, "zero.test", 2));
    EXPECT_EQ(s.asked["16 zero.test"], 2);
    asio::io_context ctx2(1);
    TestServer s2(ctx2);
    s2.answer = s.answer;
    Resolver off(settings_for(s2, 0));
    run(ctx2, s2, ask_txt_times(off, "a.test", 2));
    EXPECT_EQ(s2.asked["16 a.test"], 2);
}

TEST(Resolver, NegativeAnswersAreCachedForTheSoaTtlOnly) {
    asio::io_context ctx(1);
    TestServer s(ctx);
    s.answer = [](const std::string& n, std::uint16_t t, bool) {
        Reply r = reply(0, n, t, n.starts_with("nx") ? rcode::NxDomain : rcode::NoError);
        if (n.ends_with("soa.test")) r.soa = {{3600, 60}};
        return r;
    };
    Resolver r(settings_for(s));
    auto nx = run(ctx, s, ask_txt_times(r, "nx.soa.test", 2));
    EXPECT_EQ(nx[1].status, RecordStatus::NxDomain);
    EXPECT_EQ(s.asked["16 nx.soa.test"], 1);
    ctx.restart();
    auto nodata = run(ctx, s, ask_txt_times(r, "nodata.soa.test", 2));
    EXPECT_EQ(nodata[1].status, RecordStatus::NoData);
    EXPECT_EQ(s.asked["16 nodata.soa.test"], 1);
    ctx.restart();
    auto bare = run(ctx, s, ask_txt_times(r, "nx.bare.test", 2));   // no SOA: not cached (RFC 2308 §5)
    EXPECT_EQ(bare[1].status, RecordStatus::NxDomain);
    EXPECT_EQ(s.asked["16 nx.bare.test"], 2);
}

namespace {
asio::awaitable<Records> one_txt(Resolver* r, std::string name) { co_return co_await r->lookup_records(name, RecordType::Txt); }

asio::awaitable<std::vector<Records>> concurrently(Resolver& r, std::string name, int n) {
    auto ex = co_await asio::this_coro::executor;
    std::vector<Records> out;
    auto pending = std::make_shared<int>(n);
    asio::steady_timer all_in(ex, std::chrono::seconds(30));
    for (int i = 0; i < n; ++i)
        asio::co_spawn(ex, one_txt(&r, name), [&out, pending, &all_in](std::exception_ptr, Records v) {
            out.push_back(std::move(v));
            if (--*pending == 0) all_in.cancel();
        });
    asio::error_code ec;
    co_await all_in.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return out;
}
}  // namespace

TEST(Resolver, ConcurrentIdenticalQuestionsShareOneQuery) {
    asio::io_context ctx(1);
    TestServer s(ctx);
    s.answer = [](const std::string& n, std::uint16_t, bool) { return txt_reply(n, "shared", 0); };   // TTL 0: no cache help
    Resolver r(settings_for(s));
    auto got = run(ctx, s, concurrently(r, "same.test", 5));
    ASSERT_EQ(got.size(), 5u);
    for (const Records& g : got) EXPECT_EQ(g.values, std::vector<std::string>{"shared"});
    EXPECT_EQ(s.asked["16 same.test"], 1);
    EXPECT_EQ(r.stats().joined, 4u);
}

TEST(Resolver, TruncatedAnswerIsAskedAgainOverTcp) {
    asio::io_context ctx(1);
    TestServer s(ctx);
    s.answer = [](const std::string& n, std::uint16_t, bool tcp) {
        if (tcp) return txt_reply(n, std::string(250, 'k'), 300);
        Reply r = reply(0, n, rr_type::TXT);
        r.tc = true;
        return r;
    };
    Resolver r(settings_for(s));
    auto got = run(ctx, s, ask_txt_times(r, "big.test", 1));
    ASSERT_EQ(got[0].status, RecordStatus::Found);
    EXPECT_EQ(got[0].values, std::vector<std::string>{std::string(250, 'k')});
    EXPECT_EQ(s.tcp_asked, 1);
}

TEST(Resolver, SilenceAndServerFailureAreTemporaryAndNotCached) {
    asio::io_context ctx(1);
    TestServer s(ctx);
    s.answer = [](const std::string& n, std::uint16_t t, bool) -> std::optional<Reply> {
        if (n == "silent.test") return std::nullopt;
        return reply(0, n, t, rcode::ServFail);
    };
    Resolver r(settings_for(s));
    auto silent = run(ctx, s, ask_txt_times(r, "silent.test", 1));
    EXPECT_EQ(silent[0].status, RecordStatus::Temporary);
    EXPECT_NE(silent[0].error.find("silent.test"), std::string::npos);
    EXPECT_EQ(s.asked["16 silent.test"], 2);   // asked twice, then given up
    ctx.restart();
    auto failed = run(ctx, s, ask_txt_times(r, "fail.test", 2));
    EXPECT_EQ(failed[1].status, RecordStatus::Temporary);
    EXPECT_NE(failed[1].error.find("server failure"), std::string::npos);
    EXPECT_EQ(s.asked["16 fail.test"], 4);   // each look-up: two tries; nothing cached
}

namespace {
asio::awaitable<DnsResult<std::vector<MxHost>>> mx_of(Resolver& r, std::string d) { co_return co_await r.lookup_mx(d); }
}  // namespace

TEST(Resolver, MxInPreferenceOrderAndCnameTargetsFollowed) {
    asio::io_context ctx(1);
    TestServer s(ctx);
    s.answer = [](const std::string& n, std::uint16_t t, bool) {
        Reply r = reply(0, n, t);
        if (t == rr_type::MX) {
            std::vector<std::uint8_t> b{0, 20}, a{0, 10};
            put_name(b, "b.mx.test");
            put_name(a, "a.mx.test");
            r.answers.push_back({rr_type::MX, 300, b, ""});
            r.answers.push_back({rr_type::MX, 300, a, ""});
        }
        if (t == rr_type::TXT) {   // alias.test CNAME real.test, real.test TXT
            std::vector<std::uint8_t> target;
            put_name(target, "real.test");
            r.answers.push_back({rr_type::CNAME, 300, target, ""});
            r.answers.push_back({rr_type::TXT, 300, txt_rdata("via cname"), "real.test"});
        }
        return r;
    };
    Resolver r(settings_for(s));
    auto mx = run(ctx, s, mx_of(r, "mail.test"));
    ASSERT_TRUE(mx);
    ASSERT_EQ(mx->size(), 2u);
    EXPECT_EQ((*mx)[0].name, "a.mx.test");
    EXPECT_EQ((*mx)[1].name, "b.mx.test");
    ctx.restart();
    auto txt = run(ctx, s, ask_txt_times(r, "alias.test", 1));
    EXPECT_EQ(txt[0].values, std::vector<std::string>{"via cname"});
}
