// check_host() against an in-memory DNS (a table of names → records, every question
// counted): each result, the mechanisms, include and redirect, and the limits of RFC 7208
// §4.6.4 (10 DNS-querying terms, 2 void look-ups, 10 MX names, loops, 50 includes).
#include "senderauth/spf.hpp"

#include <map>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <gtest/gtest.h>

using namespace rampart;
using namespace rampart::senderauth;
using dns::RecordStatus;
using dns::RecordType;

namespace {

class TableLookup final : public SpfLookup {
public:
    // Names not in the table are NXDOMAIN; a name with records of other types only is NODATA.
    void add(const std::string& name, RecordType t, std::vector<std::string> values) {
        table_[{name, t}] = dns::Records{RecordStatus::Found, std::move(values), {}};
    }
    void txt(const std::string& name, std::string record) { add(name, RecordType::Txt, {std::move(record)}); }
    void fail(const std::string& name, RecordType t) { table_[{name, t}] = dns::Records{RecordStatus::Temporary, {}, "SERVFAIL"}; }

    asio::awaitable<dns::Records> lookup(std::string name, RecordType type) override {
        ++queries;
        auto it = table_.find({name, type});
        if (it != table_.end()) co_return it->second;
        for (const auto& [k, v] : table_)
            if (k.first == name) co_return dns::Records{RecordStatus::NoData, {}, {}};
        co_return dns::Records{RecordStatus::NxDomain, {}, {}};
    }
    int queries = 0;

private:
    std::map<std::pair<std::string, RecordType>, dns::Records> table_;
};

SpfOutcome check(TableLookup& dns, const char* ip, const char* sender, const char* helo = "client.example.org") {
    SpfOutcome out;
    asio::io_context io;
    SpfRequest req{*net::IpAddress::parse(ip), helo, sender, "mx.example.net"};
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await check_spf(dns, req); }, asio::detached);
    io.run();
    return out;
}

}  // namespace

TEST(Spf, BasicResults) {
    TableLookup d;
    d.txt("example.com", "v=spf1 ip4:192.0.2.0/24 ~ip4:198.51.100.1 ?ip4:198.51.100.2 -all");
    d.add("example.com", RecordType::Txt, {"some other text", "v=spf1 ip4:192.0.2.0/24 ~ip4:198.51.100.1 ?ip4:198.51.100.2 -all"});
    EXPECT_EQ(check(d, "192.0.2.77", "a@example.com").result, SpfResult::Pass);
    EXPECT_EQ(check(d, "198.51.100.1", "a@example.com").result, SpfResult::SoftFail);
    EXPECT_EQ(check(d, "198.51.100.2", "a@example.com").result, SpfResult::Neutral);
    SpfOutcome f = check(d, "203.0.113.9", "a@EXAMPLE.com");
    EXPECT_EQ(f.result, SpfResult::Fail);
    EXPECT_EQ(f.domain, "example.com");
    EXPECT_EQ(f.identity, "mailfrom");
    EXPECT_EQ(f.sender, "a@example.com");
    EXPECT_NE(f.reason.find("-all"), std::string::npos) << f.reason;
    EXPECT_EQ(check(d, "203.0.113.9", "a@nospf.example.com").result, SpfResult::None);
    d.txt("norecord.example.com", "just text");
    EXPECT_EQ(check(d, "203.0.113.9", "a@norecord.example.com").result, SpfResult::None);
    d.txt("neutral.example.com", "v=spf1 ip4:10.0.0.1");
    EXPECT_EQ(check(d, "203.0.113.9", "a@neutral.example.com").result, SpfResult::Neutral);
}

TEST(Spf, NullSenderUsesHelo) {
    TableLookup d;
    d.txt("mail.example.org", "v=spf1 a -all");
    d.add("mail.example.org", RecordType::A, {"192.0.2.10"});
    SpfOutcome o = check(d, "192.0.2.10", "", "mail.example.org");
    EXPECT_EQ(o.result, SpfResult::Pass);
    EXPECT_EQ(o.identity, "helo");
    EXPECT_EQ(o.sender, "postmaster@mail.example.org");
    EXPECT_EQ(check(d, "192.0.2.10", "", "[192.0.2.10]").result, SpfResult::None);
}

TEST(Spf, TemporaryAndPermanentErrors) {
    TableLookup d;
    d.fail("tmp.example.com", RecordType::Txt);
    EXPECT_EQ(check(d, "192.0.2.1", "a@tmp.example.com").result, SpfResult::TempError);
    d.add("two.example.com", RecordType::Txt, {"v=spf1 -all", "v=spf1 +all"});
    EXPECT_EQ(check(d, "192.0.2.1", "a@two.example.com").result, SpfResult::PermError);
    d.txt("bad.example.com", "v=spf1 ip4:192.0.2.1/40 -all");
    SpfOutcome bad = check(d, "192.0.2.1", "a@bad.example.com");
    EXPECT_EQ(bad.result, SpfResult::PermError);
    EXPECT_NE(bad.reason.find("CIDR"), std::string::npos) << bad.reason;
    d.txt("atmp.example.com", "v=spf1 a:down.example.com -all");
    d.fail("down.example.com", RecordType::A);
    EXPECT_EQ(check(d, "192.0.2.1", "a@atmp.example.com").result, SpfResult::TempError);
}

TEST(Spf, AMxPtrExistsAndCidr) {
    TableLookup d;
    d.txt("example.com", "v=spf1 a/24 mx:mail.example.com ptr exists:%{ir}.allow.example.com -all");
    d.add("example.com", RecordType::A, {"192.0.2.1"});
    d.add("mail.example.com", RecordType::Mx, {"mx1.example.com", "mx2.example.com"});
    d.add("mx2.example.com", RecordType::Aaaa, {"2001:db8::25"});
    d.add("mx2.example.com", RecordType::A, {"198.51.100.25"});
    d.add("1.113.0.203.in-addr.arpa", RecordType::Ptr, {"host.sub.example.com", "evil.example.com"});
    d.add("host.sub.example.com", RecordType::A, {"203.0.113.1"});
    d.add("evil.example.com", RecordType::A, {"203.0.113.250"});
    d.add("7.113.0.203.allow.example.com", RecordType::A, {"127.0.0.2"});
    EXPECT_EQ(check(d, "192.0.2.200", "a@example.com").result, SpfResult::Pass);      // a/24
    EXPECT_EQ(check(d, "198.51.100.25", "a@example.com").result, SpfResult::Pass);    // mx
    EXPECT_EQ(check(d, "2001:db8::25", "a@example.com").result, SpfResult::Pass);     // mx, AAAA
    EXPECT_EQ(check(d, "::ffff:198.51.100.25", "a@example.com").result, SpfResult::Pass);   // mapped: IPv4
    EXPECT_EQ(check(d, "203.0.113.1", "a@example.com").result, SpfResult::Pass);      // ptr, validated
    EXPECT_EQ(check(d, "203.0.113.7", "a@example.com").result, SpfResult::Pass);      // exists
    EXPECT_EQ(check(d, "203.0.113.8", "a@example.com").result, SpfResult::Fail);
}

TEST(Spf, IncludeAndRedirect) {
    TableLookup d;
    d.txt("example.com", "v=spf1 include:_spf.example.net ~all");
    d.txt("_spf.example.net", "v=spf1 ip4:192.0.2.0/24 -all");
    EXPECT_EQ(check(d, "192.0.2.9", "a@example.com").result, SpfResult::Pass);
    EXPECT_EQ(check(d, "203.0.113.9", "a@example.com").result, SpfResult::SoftFail);   // include's fail: no match
    d.txt("r.example.com", "v=spf1 redirect=_spf.example.net");
    EXPECT_EQ(check(d, "203.0.113.9", "a@r.example.com").result, SpfResult::Fail);
    d.txt("in.example.com", "v=spf1 include:nothing.example.net -all");
    EXPECT_EQ(check(d, "203.0.113.9", "a@in.example.com").result, SpfResult::PermError);   // include of none
    d.txt("rn.example.com", "v=spf1 redirect=nothing.example.net");
    EXPECT_EQ(check(d, "203.0.113.9", "a@rn.example.com").result, SpfResult::PermError);
    d.txt("tmpinc.example.com", "v=spf1 include:down.example.net -all");
    d.fail("down.example.net", RecordType::Txt);
    EXPECT_EQ(check(d, "203.0.113.9", "a@tmpinc.example.com").result, SpfResult::TempError);
}

TEST(Spf, ExplanationOnFail) {
    TableLookup d;
    d.txt("example.com", "v=spf1 -all exp=why.%{d}");
    d.txt("why.example.com", "%{c} may not send mail as %{s}");
    SpfOutcome o = check(d, "192.0.2.9", "bob@example.com");
    EXPECT_EQ(o.result, SpfResult::Fail);
    EXPECT_EQ(o.explanation, "192.0.2.9 may not send mail as bob@example.com");
}

TEST(Spf, TenDnsTermsAllowedEleventhIsPermerror) {
    TableLookup d;
    std::string ten = "v=spf1";
    for (int i = 0; i < 10; ++i) ten += " a:h" + std::to_string(i) + ".example.com";
    d.txt("ten.example.com", ten + " -all");
    for (int i = 0; i < 11; ++i) d.add("h" + std::to_string(i) + ".example.com", RecordType::A, {"10.0.0." + std::to_string(i)});
    EXPECT_EQ(check(d, "192.0.2.9", "a@ten.example.com").result, SpfResult::Fail);
    d.txt("eleven.example.com", ten + " a:h10.example.com -all");
    SpfOutcome o = check(d, "192.0.2.9", "a@eleven.example.com");
    EXPECT_EQ(o.result, SpfResult::PermError);
    EXPECT_NE(o.reason.find("more than 10"), std::string::npos) << o.reason;
    // Terms that ask no DNS do not count.
    d.txt("cheap.example.com", ten + " ip4:10.9.9.9 ip4:10.9.9.8 -all");
    EXPECT_EQ(check(d, "192.0.2.9", "a@cheap.example.com").result, SpfResult::Fail);
}

TEST(Spf, TwoVoidLookupsAllowedThirdIsPermerror) {
    TableLookup d;
    d.txt("two.example.com", "v=spf1 a:void1.example.com mx:void2.example.com -all");
    d.add("void2.example.com", RecordType::A, {"10.0.0.1"});   // no MX there: NODATA
    EXPECT_EQ(check(d, "192.0.2.9", "a@two.example.com").result, SpfResult::Fail);
    d.txt("three.example.com", "v=spf1 a:void1.example.com mx:void2.example.com exists:void3.example.com -all");
    SpfOutcome o = check(d, "192.0.2.9", "a@three.example.com");
    EXPECT_EQ(o.result, SpfResult::PermError);
    EXPECT_NE(o.reason.find("void"), std::string::npos) << o.reason;
}

TEST(Spf, MoreThanTenMxNamesIsPermerror) {
    TableLookup d;
    std::vector<std::string> names;
    for (int i = 0; i < 11; ++i) names.push_back("mx" + std::to_string(i) + ".example.com");
    d.add("example.com", RecordType::Mx, names);
    d.txt("example.com", "v=spf1 mx -all");
    EXPECT_EQ(check(d, "192.0.2.9", "a@example.com").result, SpfResult::PermError);
    names.pop_back();
    d.add("example.com", RecordType::Mx, names);
    EXPECT_EQ(check(d, "192.0.2.9", "a@example.com").result, SpfResult::Fail);
}

TEST(Spf, IncludeLoopEndsInPermerror) {
    TableLookup d;
    d.txt("a.example.com", "v=spf1 include:b.example.com -all");
    d.txt("b.example.com", "v=spf1 include:a.example.com -all");
    SpfOutcome o = check(d, "192.0.2.9", "x@a.example.com");
    EXPECT_EQ(o.result, SpfResult::PermError);
    EXPECT_LE(d.queries, 12);   // stopped by the term limit, not by luck
    d.txt("self.example.com", "v=spf1 redirect=self.example.com");
    EXPECT_EQ(check(d, "192.0.2.9", "x@self.example.com").result, SpfResult::PermError);
}

TEST(Spf, FiftyIncludesArePermerror) {
    TableLookup d;
    std::string rec = "v=spf1";
    for (int i = 0; i < 50; ++i) {
        rec += " include:i" + std::to_string(i) + ".example.com";
        d.txt("i" + std::to_string(i) + ".example.com", "v=spf1 ip4:10.0.0." + std::to_string(i) + " -all");
    }
    d.txt("many.example.com", rec + " -all");
    d.queries = 0;
    SpfOutcome o = check(d, "192.0.2.9", "x@many.example.com");
    EXPECT_EQ(o.result, SpfResult::PermError);
    EXPECT_EQ(o.dns_terms, 11);
    EXPECT_LE(d.queries, 11);
    // Chained 50 deep the same way.
    for (int i = 0; i < 50; ++i)
        d.txt("c" + std::to_string(i) + ".example.com", "v=spf1 include:c" + std::to_string(i + 1) + ".example.com -all");
    EXPECT_EQ(check(d, "192.0.2.9", "x@c0.example.com").result, SpfResult::PermError);
}

TEST(Spf, BadDomainsAreNone) {
    TableLookup d;
    EXPECT_EQ(check(d, "192.0.2.9", "x@localhost").result, SpfResult::None);
    EXPECT_EQ(check(d, "192.0.2.9", ("x@" + std::string(64, 'a') + ".example.com").c_str()).result, SpfResult::None);
    EXPECT_EQ(d.queries, 0);
}
