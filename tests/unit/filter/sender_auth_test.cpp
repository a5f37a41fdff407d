// The sender authentication agent on an in-memory DNS: each SPF result and spf_* setting
// gives its verdict at RCPT (550 5.7.23, 550 5.7.24, 451 4.7.24, stamp, accept), SPF is asked
// once per transaction, and end of data prepends Authentication-Results, removes forged
// ones claiming our authserv-id and any incoming X-Rampart-Sender-Auth; [sender_auth] keys
// load and bad values are errors. DKIM and DMARC at end of data, on messages signed by dkimpy
// (tests/unit/senderauth/data): each DMARC outcome and dmarc_* setting gives its verdict
// (550 5.7.1, quarantine, stamp, accept, 451 4.7.1), a failing signature alone never refuses,
// and the header names every signature and the DMARC result.
#include "filter/sender_auth.hpp"

#include <fstream>
#include <iterator>
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

std::string data(const std::string& name) {
    std::ifstream in(std::string(RAMPART_UNIT_DIR) + "/senderauth/data/" + name, std::ios::binary);
    EXPECT_TRUE(in) << name;
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (name.ends_with(".txt"))
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

// The signed test messages: From alice@example.test, d=example.test, s=rsa or s=ed.
std::string tampered(std::string m) {
    std::size_t at = m.find("The meeting");
    m.replace(at, 11, "The MEETING");
    return m;
}

// SPF for example.test authorizes 192.0.2.1; DKIM keys under rsa. and ed._domainkey.
void publish(TableLookup& dns, const char* dmarc) {
    dns.txt["example.test"] = "v=spf1 ip4:192.0.2.1 -all";
    dns.txt["rsa._domainkey.example.test"] = data("rsa.txt");
    dns.txt["ed._domainkey.example.test"] = data("ed.txt");
    if (dmarc) dns.txt["_dmarc.example.test"] = dmarc;
}

std::string header_of(const filter::ChainResult& r) {
    if (!r.message) return {};
    return r.message->substr(0, r.message->find("\r\n\r\n"));
}

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
    EXPECT_EQ(c.sender_auth.dmarc_reject, config::DmarcAction::Reject);
    EXPECT_EQ(c.sender_auth.dmarc_quarantine, config::DmarcAction::Quarantine);
    EXPECT_EQ(c.sender_auth.dmarc_temperror, config::SpfAction::Tempfail);
    EXPECT_EQ(c.sender_auth.public_suffix_list, "/usr/share/publicsuffix/public_suffix_list.dat");
    auto d = config::load_text("[sender_auth]\ndmarc_reject = \"quarantine\"\ndmarc_quarantine = \"stamp\"\n"
                               "dmarc_temperror = \"accept\"\npublic_suffix_list = \"psl.dat\"\n", "t.toml", "/tmp");
    ASSERT_TRUE(std::holds_alternative<config::Config>(d));
    const config::Config& dc = std::get<config::Config>(d);
    EXPECT_EQ(dc.sender_auth.dmarc_reject, config::DmarcAction::Quarantine);
    EXPECT_EQ(dc.sender_auth.dmarc_quarantine, config::DmarcAction::Stamp);
    EXPECT_EQ(dc.sender_auth.dmarc_temperror, config::SpfAction::Accept);
    EXPECT_EQ(dc.resolve(dc.sender_auth.public_suffix_list), std::filesystem::path("/tmp/psl.dat"));
    for (const char* bad : {"spf_fail = \"tempfail\"", "spf_temperror = \"reject\"", "spf_softfail = \"maybe\"", "dmarc_reject = \"drop\"",
                            "dmarc_temperror = \"reject\"", "public_suffix_list = 3"}) {
        auto e = config::load_text(std::string("[sender_auth]\n") + bad + "\n", "t.toml", "/tmp");
        EXPECT_TRUE(std::holds_alternative<std::vector<config::ConfigError>>(e)) << bad;
    }
    auto none = config::load_text("", "t.toml", "/tmp");
    ASSERT_TRUE(std::holds_alternative<config::Config>(none));
    EXPECT_FALSE(std::get<config::Config>(none).sender_auth.configured);
}

TEST(SenderAuthDmarc, AlignedDkimPassPassesEvenWithSpfFail) {
    config::SenderAuthSettings s = defaults();
    s.spf_fail = config::SpfAction::Accept;
    for (const char* file : {"rsa_relaxed.eml", "ed25519.eml"}) {
        Fixture f(s);
        publish(*f.dns, "v=DMARC1; p=reject");
        EXPECT_EQ(f.rcpt("198.51.100.9", "bob@example.test").kind, Kind::Continue);   // SPF fail, accepted
        filter::ChainResult r = f.data("198.51.100.9", "bob@example.test", data(file));
        EXPECT_EQ(r.kind, Kind::Continue) << file;
        std::string h = header_of(r);
        EXPECT_NE(h.find("\tspf=fail "), std::string::npos) << h;
        EXPECT_NE(h.find(std::string("\tdkim=pass header.d=example.test header.s=") + (file[0] == 'r' ? "rsa" : "ed") + " header.b="),
                  std::string::npos) << h;
        EXPECT_NE(h.find("\tdmarc=pass (p=reject dis=none; DKIM pass aligned \\(d=example.test\\)) header.from=example.test"),
                  std::string::npos) << h;
        EXPECT_EQ(h.find("X-Rampart-Sender-Auth"), std::string::npos) << h;
    }
}

TEST(SenderAuthDmarc, FailureUnderRejectIs550) {
    config::SenderAuthSettings s = defaults();
    s.spf_fail = config::SpfAction::Accept;
    Fixture f(s);
    publish(*f.dns, "v=DMARC1; p=reject");
    f.rcpt("198.51.100.9", "bob@example.test");
    filter::ChainResult r = f.data("198.51.100.9", "bob@example.test", tampered(data("rsa_relaxed.eml")));
    EXPECT_EQ(r.kind, Kind::Refuse);
    EXPECT_EQ(r.reply.code, 550);
    EXPECT_EQ(r.reply.enhanced, "5.7.1");
    EXPECT_EQ(r.reply.text, "DMARC policy of example.test (p=reject) refuses this message: no aligned SPF or DKIM pass");
    EXPECT_EQ(r.rule, "sender_auth.dmarc_reject");
    EXPECT_NE(r.reason.find("dkim=fail (d=example.test)"), std::string::npos) << r.reason;
}

TEST(SenderAuthDmarc, EachPolicyAndSettingDecides) {
    struct Case {
        const char* record;
        config::DmarcAction on_reject, on_quarantine;
        Kind kind;
        const char* rule;
        bool stamped;
    };
    using A = config::DmarcAction;
    const Case cases[] = {
        {"v=DMARC1; p=quarantine", A::Reject, A::Quarantine, Kind::Quarantine, "sender_auth.dmarc_quarantine", false},
        {"v=DMARC1; p=quarantine", A::Reject, A::Reject, Kind::Refuse, "sender_auth.dmarc_quarantine", false},
        {"v=DMARC1; p=reject", A::Quarantine, A::Reject, Kind::Quarantine, "sender_auth.dmarc_reject", false},
        {"v=DMARC1; p=reject", A::Stamp, A::Reject, Kind::Continue, "sender_auth.dmarc_reject", true},
        {"v=DMARC1; p=reject", A::Accept, A::Reject, Kind::Continue, "sender_auth.dmarc_reject", false},
        {"v=DMARC1; p=none", A::Reject, A::Reject, Kind::Continue, "", false},
        {"v=DMARC1; p=reject; pct=0", A::Reject, A::Quarantine, Kind::Quarantine, "sender_auth.dmarc_quarantine", false},   // sampled out: next lower policy
        {nullptr, A::Reject, A::Reject, Kind::Continue, "", false},   // no record: DMARC does not apply
    };
    for (const Case& c : cases) {
        config::SenderAuthSettings s = defaults();
        s.spf_fail = config::SpfAction::Accept;
        s.dmarc_reject = c.on_reject;
        s.dmarc_quarantine = c.on_quarantine;
        Fixture f(s);
        publish(*f.dns, c.record);
        f.rcpt("198.51.100.9", "bob@example.test");
        filter::ChainResult r = f.data("198.51.100.9", "bob@example.test", tampered(data("rsa_relaxed.eml")));
        std::string what = c.record ? c.record : "no record";
        EXPECT_EQ(r.kind, c.kind) << what;
        EXPECT_EQ(r.rule, c.kind == Kind::Continue ? "" : c.rule) << what;
        if (c.kind == Kind::Refuse) continue;
        std::string h = header_of(r);
        EXPECT_NE(h.find("\tdkim=fail (body hash mismatch) header.d=example.test header.s=rsa"), std::string::npos) << h;
        EXPECT_NE(h.find(c.record ? "\tdmarc=fail (" : "\tdmarc=none (no DMARC record)"), std::string::npos) << h;
        EXPECT_EQ(h.find("X-Rampart-Sender-Auth: dmarc=fail (example.test)") != std::string::npos, c.stamped) << h;
    }
}

TEST(SenderAuthDmarc, AlignedSpfPassWithoutSignature) {
    Fixture f(defaults());
    publish(*f.dns, "v=DMARC1; p=reject");
    EXPECT_EQ(f.rcpt("192.0.2.1", "bob@mail.example.test").kind, Kind::Continue);   // no SPF record there: none
    f.run->end_transaction();
    f.dns->txt["mail.example.test"] = "v=spf1 ip4:192.0.2.1 -all";
    EXPECT_EQ(f.rcpt("192.0.2.1", "bob@mail.example.test").kind, Kind::Continue);
    filter::ChainResult r = f.data("192.0.2.1", "bob@mail.example.test", "From: Alice <alice@example.test>\r\nSubject: s\r\n\r\nhi\r\n");
    EXPECT_EQ(r.kind, Kind::Continue);
    std::string h = header_of(r);
    EXPECT_NE(h.find("\tdkim=none (no signature);"), std::string::npos) << h;
    EXPECT_NE(h.find("\tdmarc=pass (p=reject dis=none; SPF pass aligned \\(mail.example.test\\)) header.from=example.test"), std::string::npos) << h;
}

TEST(SenderAuthDmarc, UnalignedSpfPassFails) {
    // SPF passes for example.com, the From domain is example.test: not aligned (DKIM with an
    // unaligned d= is in tests/integration/test_dmarc.py, signed there by dkimpy).
    Fixture f(defaults());
    publish(*f.dns, "v=DMARC1; p=reject");
    EXPECT_EQ(f.rcpt("192.0.2.1", "bob@example.com").kind, Kind::Continue);
    filter::ChainResult r = f.data("192.0.2.1", "bob@example.com", "From: alice@example.test\r\nSubject: s\r\n\r\nhi\r\n");
    EXPECT_EQ(r.kind, Kind::Refuse);
    EXPECT_EQ(r.reply.enhanced, "5.7.1");
    EXPECT_NE(r.reason.find("(SPF pass example.com not aligned)"), std::string::npos) << r.reason;
}

TEST(SenderAuthDmarc, KeyProblemsAreDkimErrorsNotRefusals) {
    Fixture f(defaults());
    publish(*f.dns, nullptr);
    f.dns->txt.erase("rsa._domainkey.example.test");
    f.dns->fixed["ed._domainkey.example.test"] = dns::Records{dns::RecordStatus::Temporary, {}, "TXT ed._domainkey.example.test: timeout"};
    f.rcpt("192.0.2.1", "bob@example.test");
    filter::ChainResult r1 = f.data("192.0.2.1", "bob@example.test", data("rsa_relaxed.eml"));
    filter::ChainResult r2 = f.data("192.0.2.1", "bob@example.test", data("ed25519.eml"));
    EXPECT_EQ(r1.kind, Kind::Continue);
    EXPECT_EQ(r2.kind, Kind::Continue);
    EXPECT_NE(header_of(r1).find("\tdkim=permerror (no key for signature) header.d=example.test header.s=rsa"), std::string::npos) << header_of(r1);
    EXPECT_NE(header_of(r2).find("\tdkim=temperror (key lookup failed: TXT ed._domainkey.example.test: timeout) header.d=example.test header.s=ed"),
              std::string::npos) << header_of(r2);
}

TEST(SenderAuthDmarc, TemperrorTempfailsByDefaultOrStamps) {
    for (config::SpfAction a : {config::SpfAction::Tempfail, config::SpfAction::Stamp, config::SpfAction::Accept}) {
        config::SenderAuthSettings s = defaults();
        s.dmarc_temperror = a;
        Fixture f(s);
        publish(*f.dns, nullptr);
        f.dns->fixed["_dmarc.example.test"] = dns::Records{dns::RecordStatus::Temporary, {}, "TXT _dmarc.example.test: SERVFAIL"};
        f.rcpt("198.51.100.9", "bob@example.test");
        filter::ChainResult r = f.data("198.51.100.9", "bob@example.test", tampered(data("rsa_relaxed.eml")));
        if (a == config::SpfAction::Tempfail) {
            EXPECT_EQ(r.kind, Kind::Tempfail);
            EXPECT_EQ(r.reply.summary(), smtp::Reply(451, "4.7.1", "DMARC policy of example.test could not be looked up; try again later").summary());
            EXPECT_EQ(r.rule, "sender_auth.dmarc_temperror");
            continue;
        }
        EXPECT_EQ(r.kind, Kind::Continue);
        std::string h = header_of(r);
        EXPECT_NE(h.find("\tdmarc=temperror (DMARC record lookup failed for _dmarc.example.test) header.from=example.test"), std::string::npos) << h;
        EXPECT_EQ(h.find("X-Rampart-Sender-Auth: dmarc=temperror (example.test)") != std::string::npos, a == config::SpfAction::Stamp) << h;
    }
}

TEST(SenderAuthDmarc, PublicSuffixListLoadErrorNamesTheFile) {
    try {
        filter::SenderAuth::load_public_suffix_list("/nonexistent/psl.dat");
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("sender_auth.public_suffix_list"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("/nonexistent/psl.dat"), std::string::npos) << e.what();
    }
    auto psl = filter::SenderAuth::load_public_suffix_list("/usr/share/publicsuffix/public_suffix_list.dat");
    EXPECT_EQ(psl->organizational_domain("mail.example.co.uk"), "example.co.uk");
}
