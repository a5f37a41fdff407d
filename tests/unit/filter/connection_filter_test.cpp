#include "filter/connection_filter.hpp"

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
