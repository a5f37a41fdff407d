#include "filter/connection_filter.hpp"

#include "filter/block_list.hpp"

#include <gtest/gtest.h>

using namespace rampart;
using Kind = filter::AgentVerdict::Kind;

namespace {
filter::ConnectionFilter make(std::vector<std::string> allow, std::vector<std::string> block) {
    config::ConnectionFilterSettings s;
    for (auto& a : allow) s.allow.push_back(*net::Cidr::parse(a));
    for (auto& b : block) s.block.push_back(*net::Cidr::parse(b));
    s.configured = true;
    return filter::ConnectionFilter(s);
}
net::IpAddress ip(const char* s) { return *net::IpAddress::parse(s); }
}  // namespace

TEST(ConnectionFilter, BlockedAddressGets550) {
    auto f = make({}, {"198.51.100.0/24", "2001:db8:bad::/48"});
    auto v = f.judge(ip("198.51.100.7"));
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.reply.summary(), "550 5.7.1 connection refused by the connection filter");
    EXPECT_EQ(v.rule, "connection_filter.block");
    EXPECT_EQ(v.reason, "198.51.100.7 is in 198.51.100.0/24");
    EXPECT_EQ(f.judge(ip("2001:db8:bad::1")).kind, Kind::Refuse);
    EXPECT_EQ(f.judge(ip("2001:db8:900d::1")).kind, Kind::Continue);
    EXPECT_EQ(f.judge(ip("198.51.101.7")).kind, Kind::Continue);
}

TEST(ConnectionFilter, AllowWinsOverBlock) {
    auto f = make({"198.51.100.5"}, {"198.51.100.0/24"});
    auto v = f.judge(ip("198.51.100.5"));
    EXPECT_EQ(v.kind, Kind::Continue);
    EXPECT_EQ(v.rule, "connection_filter.allow");
    EXPECT_EQ(f.judge(ip("198.51.100.6")).kind, Kind::Refuse);
}

TEST(ConnectionFilter, MappedIpv4PeersMatchIpv4Blocks) {
    auto f = make({}, {"198.51.100.0/24"});
    EXPECT_EQ(f.judge(ip("::ffff:198.51.100.7")).kind, Kind::Refuse);
}

TEST(ConnectionFilter, AskedOnlyAtConnect) {
    auto f = make({}, {"0.0.0.0/0"});
    EXPECT_TRUE(f.bound_to(filter::Stage::Connect));
    EXPECT_FALSE(f.bound_to(filter::Stage::RcptTo));
    EXPECT_FALSE(f.network());
}

TEST(ConnectionFilter, DynamicBlockListRefusesAtConnectWithReasonAndExpiry) {
    config::ConnectionFilterSettings s;
    s.allow.push_back(*net::Cidr::parse("198.51.100.5"));
    s.configured = true;
    filter::BlockList list;
    auto until = std::chrono::sys_days(std::chrono::year(2099) / 1 / 2) + std::chrono::hours(3);
    ASSERT_TRUE(list.add(*net::Cidr::parse("198.51.100.0/24"), until, "spam run", "operator"));
    filter::ConnectionFilter f(s, filter::ConnectionFilterServices{nullptr, &list});
    auto v = f.judge(ip("198.51.100.7"));
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.reply.summary(), "550 5.7.1 client 198.51.100.7 is blocked until 2099-01-02T03:00:00Z: spam run");
    EXPECT_EQ(v.rule, "block_list");
    // The static allow list still wins.
    EXPECT_EQ(f.judge(ip("198.51.100.5")).kind, Kind::Continue);
    ASSERT_TRUE(list.remove(*net::Cidr::parse("198.51.100.0/24")));
    EXPECT_EQ(f.judge(ip("198.51.100.7")).kind, Kind::Continue);
}

TEST(ConnectionFilter, BoundToRcptOnlyForBlockProvidersRefusingAtRcpt) {
    config::ConnectionFilterSettings s;
    s.configured = true;
    s.block_providers.push_back(config::DnsListProvider{"bl.example.test", {}, 1});
    {
        filter::ConnectionFilter f(s);
        EXPECT_TRUE(f.bound_to(filter::Stage::Connect));
        EXPECT_TRUE(f.bound_to(filter::Stage::RcptTo));
        EXPECT_FALSE(f.bound_to(filter::Stage::MailFrom));
    }
    s.refuse_at = config::RefuseAt::Connect;
    filter::ConnectionFilter g(s);
    EXPECT_FALSE(g.bound_to(filter::Stage::RcptTo));
}
