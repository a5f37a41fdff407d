// The sender authentication agent on an in-memory DNS: each SPF result and spf_* setting
// gives its verdict at RCPT (550 5.7.23, 550 5.7.24, 451 4.7.24, stamp, accept), SPF is asked
// once per transaction, and end of data prepends Authentication-Results, removes forged
// ones claiming our authserv-id and any incoming X-Rampart-Sender-Auth; [sender_auth] keys
// load and bad values are errors.
#include "filter/sender_auth.hpp"

#include <map>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "config/load.hpp"
#include "filter/chain.hpp"

using namespace rampart;
using filter::Stage;
using Kind = filter::AgentVerdict::Kind;

namespace {

class TableLookup final : public senderauth::SpfLookup {
public:
    std::map<std::string, std::string> txt;   // name → one TXT record; others NXDOMAIN
    std::map<std::string, dns::Records> fixed;
    int queries = 0;
    asio::awaitable<dns::Records> lookup(std::string name, dns::RecordType type) override {
        ++queries;
        if (auto f = fixed.find(name); f != fixed.end()) co_return f->second;
        if (type == dns::RecordType::Txt)
            if (auto it = txt.find(name); it != txt.end()) co_return dns::Records{dns::RecordStatus::Found, {it->second}, {}};
        co_return dns::Records{dns::RecordStatus::NxDomain, {}, {}};
    }
};

smtp::Path path(const char* address) {
    smtp::PathResult r = smtp::parse_path(std::string("<") + address + ">", smtp::PathKind::Reverse, true, nullptr);
    return std::get<smtp::Path>(r);
}

struct Fixture {
    std::shared_ptr<TableLookup> dns = std::make_shared<TableLookup>();
    filter::Chain chain;
    std::unique_ptr<filter::ChainRun> run;

    explicit Fixture(config::SenderAuthSettings s) {
        dns->txt["example.com"] = "v=spf1 ip4:192.0.2.1 ~ip4:192.0.2.2 -all";
        dns->txt["other.example.com"] = "v=spf1 -all";
        dns->txt["loop.example.com"] = "v=spf1 include:loop2.example.com";
        dns->txt["loop2.example.com"] = "v=spf1 include:loop.example.com";
        dns->fixed["down.example.com"] = dns::Records{dns::RecordStatus::Temporary, {}, "TXT down.example.com: SERVFAIL"};
        std::vector<std::unique_ptr<filter::Agent>> agents;
        agents.push_back(std::make_unique<filter::SenderAuth>(
            s, "mx1.example.test", dns, std::make_shared<const senderauth::PublicSuffixList>(senderauth::PublicSuffixList::parse("com\ntest\n"))));
        chain = filter::Chain(std::move(agents));
    }

    filter::ChainResult ask(const char* client, Stage stage, const filter::MessageView& view) {
        if (!run)
            run = std::make_unique<filter::ChainRun>(chain, filter::SessionInfo{"internet", *net::IpAddress::parse(client), false, {}});
        filter::ChainResult out;
        asio::io_context io;
        asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await run->run(stage, view); }, asio::detached);
        io.run();
        return out;
    }

    filter::ChainResult rcpt(const char* client, const char* sender) {
        smtp::Path from = path(sender), to = path("alice@example.test");
        filter::MessageView v;
        v.helo = "client.example.org";
        v.sender = &from;
        v.rcpt = &to;
        return ask(client, Stage::RcptTo, v);
    }

    filter::ChainResult data(const char* client, const char* sender, std::string_view message) {
        smtp::Path from = path(sender);
        filter::MessageView v;
        v.helo = "client.example.org";
        v.sender = &from;
        v.message = message;
        return ask(client, Stage::EndOfData, v);
    }
};

config::SenderAuthSettings defaults() {
    config::SenderAuthSettings s;
    s.configured = true;
    return s;
}

}  // namespace

TEST(SenderAuth, FailIsRefusedWith5723) {
    Fixture f(defaults());
    filter::ChainResult r = f.rcpt("198.51.100.9", "bob@example.com");
    EXPECT_EQ(r.kind, Kind::Refuse);
    EXPECT_EQ(r.reply.code, 550);
    EXPECT_EQ(r.reply.enhanced, "5.7.23");
    EXPECT_EQ(r.reply.text, "SPF fail: example.com does not authorize this client to send its mail");
    EXPECT_EQ(r.rule, "sender_auth.spf_fail");
}

TEST(SenderAuth, AskedOncePerTransaction) {
    Fixture f(defaults());
    EXPECT_EQ(f.rcpt("192.0.2.1", "bob@example.com").kind, Kind::Continue);
    int after_first = f.dns->queries;
    EXPECT_EQ(f.rcpt("192.0.2.1", "bob@example.com").kind, Kind::Continue);
    EXPECT_EQ(f.dns->queries, after_first);
    f.run->end_transaction();
    EXPECT_EQ(f.rcpt("192.0.2.1", "bob@other.example.com").kind, Kind::Refuse);   // new transaction: asked again
}

TEST(SenderAuth, SoftfailStampedByDefaultAndHeaderAdded) {
    Fixture f(defaults());
    EXPECT_EQ(f.rcpt("192.0.2.2", "bob@example.com").kind, Kind::Continue);
    std::string msg =
        "Authentication-Results: MX1.example.test; spf=pass\r\n"
        "Authentication-Results: upstream.example.net; spf=pass\r\n"
        "X-Rampart-Sender-Auth: spf=pass (forged)\r\n"
        "From: bob@example.com\r\n"
        "Subject: hi\r\n\r\nbody\r\n";
    filter::ChainResult r = f.data("192.0.2.2", "bob@example.com", msg);
    ASSERT_TRUE(r.message);
    EXPECT_EQ(*r.message,
              "Authentication-Results: mx1.example.test;\r\n"
              "\tspf=softfail (example.com matched \"~ip4:192.0.2.2\") smtp.mailfrom=bob@example.com;\r\n"
              "\tdkim=none (no signature);\r\n"
              "\tdmarc=none (no DMARC record) header.from=example.com\r\n"
              "X-Rampart-Sender-Auth: spf=softfail (example.com)\r\n"
              "Authentication-Results: upstream.example.net; spf=pass\r\n"
              "From: bob@example.com\r\n"
              "Subject: hi\r\n\r\nbody\r\n");
}

TEST(SenderAuth, EachSettingDecides) {
    config::SenderAuthSettings s = defaults();
    s.spf_fail = config::SpfAction::Accept;
    s.spf_softfail = config::SpfAction::Reject;
    s.spf_permerror = config::SpfAction::Reject;
    s.spf_temperror = config::SpfAction::Accept;
    {
        Fixture f(s);
        EXPECT_EQ(f.rcpt("198.51.100.9", "bob@example.com").kind, Kind::Continue);
        filter::ChainResult d = f.data("198.51.100.9", "bob@example.com", "Subject: x\r\n\r\n");
        ASSERT_TRUE(d.message);
        EXPECT_EQ(d.message->find("X-Rampart-Sender-Auth"), std::string::npos);   // accept: no stamp
        EXPECT_NE(d.message->find("spf=fail"), std::string::npos);
    }
    {
        Fixture f(s);
        filter::ChainResult r = f.rcpt("192.0.2.2", "bob@example.com");
        EXPECT_EQ(r.reply.summary(), smtp::Reply(550, "5.7.23", "SPF softfail: example.com does not authorize this client to send its mail").summary());
    }
    {
        Fixture f(s);
        filter::ChainResult r = f.rcpt("198.51.100.9", "bob@loop.example.com");   // include loop
        EXPECT_EQ(r.kind, Kind::Refuse);
        EXPECT_EQ(r.reply.enhanced, "5.7.24");
        EXPECT_EQ(r.rule, "sender_auth.spf_permerror");
    }
    {
        Fixture f(s);
        EXPECT_EQ(f.rcpt("198.51.100.9", "bob@down.example.com").kind, Kind::Continue);   // temperror: accept
    }
    {
        Fixture f(defaults());
        filter::ChainResult r = f.rcpt("198.51.100.9", "bob@down.example.com");
        EXPECT_EQ(r.kind, Kind::Tempfail);
        EXPECT_EQ(r.reply.code, 451);
        EXPECT_EQ(r.reply.enhanced, "4.7.24");
    }
}

TEST(SenderAuth, SkippedForAuthenticatedPrincipals) {
    Fixture f(defaults());
    f.run = std::make_unique<filter::ChainRun>(
        f.chain, filter::SessionInfo{"internet", *net::IpAddress::parse("198.51.100.9"), true, policy::Principal{policy::Principal::Kind::User, "bob", {}, {}, false}});
    EXPECT_EQ(f.rcpt("198.51.100.9", "bob@example.com").kind, Kind::Continue);
    EXPECT_EQ(f.dns->queries, 0);
}

TEST(SenderAuthSettings, LoadAndReject) {
    auto r = config::load_text("[sender_auth]\nspf_fail = \"stamp\"\nspf_permerror = \"reject\"\nspf_temperror = \"accept\"\n", "t.toml", "/tmp");
    ASSERT_TRUE(std::holds_alternative<config::Config>(r));
    const config::Config& c = std::get<config::Config>(r);
    EXPECT_TRUE(c.sender_auth.configured);
    EXPECT_EQ(c.sender_auth.spf_fail, config::SpfAction::Stamp);
    EXPECT_EQ(c.sender_auth.spf_softfail, config::SpfAction::Stamp);
    EXPECT_EQ(c.sender_auth.spf_permerror, config::SpfAction::Reject);
    EXPECT_EQ(c.sender_auth.spf_temperror, config::SpfAction::Accept);
    for (const char* bad : {"spf_fail = \"tempfail\"", "spf_temperror = \"reject\"", "spf_softfail = \"maybe\"", "dmarc_reject = \"drop\""}) {
        auto e = config::load_text(std::string("[sender_auth]\n") + bad + "\n", "t.toml", "/tmp");
        EXPECT_TRUE(std::holds_alternative<std::vector<config::ConfigError>>(e)) << bad;
    }
    auto none = config::load_text("", "t.toml", "/tmp");
    ASSERT_TRUE(std::holds_alternative<config::Config>(none));
    EXPECT_FALSE(std::get<config::Config>(none).sender_auth.configured);
}
