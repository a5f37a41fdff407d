// DNS lists (RFC 5782): query names, which answers count, the answer cache.
#include "filter/dns_list.hpp"

#include <gtest/gtest.h>

using namespace rampart;

namespace {
net::IpAddress ip(const char* s) { return *net::IpAddress::parse(s); }
std::vector<net::Cidr> cidrs(std::vector<const char*> v) {
    std::vector<net::Cidr> out;
    for (const char* s : v) out.push_back(*net::Cidr::parse(s));
    return out;
}
}  // namespace

TEST(DnsListName, Ipv4OctetsReversed) {
    EXPECT_EQ(filter::dns_list_name(ip("192.0.2.99"), "bl.example.test"), "99.2.0.192.bl.example.test");
    EXPECT_EQ(filter::dns_list_name(ip("127.0.0.2"), "zen.example"), "2.0.0.127.zen.example");
    // IPv4-mapped IPv6 peers are asked as IPv4.
    EXPECT_EQ(filter::dns_list_name(ip("::ffff:192.0.2.1"), "bl.example.test"), "1.2.0.192.bl.example.test");
}

TEST(DnsListName, Ipv6NibblesReversed) {
    // RFC 5782 §2.4's example.
    EXPECT_EQ(filter::dns_list_name(ip("2001:db8:1:2:3:4:567:89ab"), "ugly.example.com"),
              "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com");
    EXPECT_EQ(filter::dns_list_name(ip("::1"), "z"), "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.z");
}

TEST(DnsListMatch, DefaultIsAnyLoopbackAnswer) {
    EXPECT_EQ(filter::counted_answer({"127.0.0.2"}, {}), "127.0.0.2");
    EXPECT_EQ(filter::counted_answer({"127.255.0.9"}, {}), "127.255.0.9");
    // Outside 127/8 never counts by default (a wildcard or a parked domain answering).
    EXPECT_EQ(filter::counted_answer({"192.0.2.1"}, {}), std::nullopt);
    EXPECT_EQ(filter::counted_answer({}, {}), std::nullopt);
    EXPECT_EQ(filter::counted_answer({"garbage", "::1"}, {}), std::nullopt);
}

TEST(DnsListMatch, OnlyListedAnswersCount) {
    auto match = cidrs({"127.0.0.2", "127.0.0.4/30"});
    EXPECT_EQ(filter::counted_answer({"127.0.0.2"}, match), "127.0.0.2");
    EXPECT_EQ(filter::counted_answer({"127.0.0.3"}, match), std::nullopt);
    EXPECT_EQ(filter::counted_answer({"127.0.0.7"}, match), "127.0.0.7");
    EXPECT_EQ(filter::counted_answer({"127.0.0.8"}, match), std::nullopt);
    // The first answer that counts, among several.
    EXPECT_EQ(filter::counted_answer({"127.0.0.3", "127.0.0.5"}, match), "127.0.0.5");
}
