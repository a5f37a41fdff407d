// The reserved ranges a route = "mx" connector refuses (issue 14).
#include "delivery/destination_policy.hpp"

#include <gtest/gtest.h>

using rampart::delivery::reserved_range;
using rampart::net::IpAddress;

namespace {
std::string range_of(const char* a) {
    auto ip = IpAddress::parse(a);
    EXPECT_TRUE(ip) << a;
    auto r = ip ? reserved_range(*ip) : std::nullopt;
    return r ? std::string(*r) : std::string("public");
}
}  // namespace

TEST(DestinationPolicy, ReservedRangesAreNamed) {
    const std::pair<const char*, const char*> cases[] = {
        {"127.0.0.40", "loopback"},          {"127.255.255.255", "loopback"},
        {"::1", "loopback"},                 {"::ffff:127.0.0.1", "loopback"},
        {"10.1.2.3", "private (RFC 1918)"},  {"172.16.0.1", "private (RFC 1918)"},
        {"172.31.255.255", "private (RFC 1918)"}, {"192.168.1.1", "private (RFC 1918)"},
        {"::ffff:192.168.1.1", "private (RFC 1918)"},
        {"169.254.169.254", "link-local"},   {"fe80::1", "link-local"},
        {"100.64.0.1", "shared address space (CGNAT, RFC 6598)"},
        {"fd00::1", "unique local (fc00::/7)"}, {"fc00::1", "unique local (fc00::/7)"},
        {"0.0.0.0", "unspecified (0.0.0.0/8)"}, {"::", "unspecified (::)"},
        {"224.0.0.1", "multicast"},          {"ff02::1", "multicast"},
        {"255.255.255.255", "reserved (240.0.0.0/4, broadcast)"},
    };
    for (const auto& [addr, name] : cases) EXPECT_EQ(range_of(addr), name) << addr;
}

TEST(DestinationPolicy, PublicAddressesPass) {
    for (const char* a : {"192.0.2.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "11.0.0.1", "2001:db8::1",
                          "2a00:1450::1", "::ffff:8.8.8.8", "126.255.255.255", "128.0.0.1"})
        EXPECT_EQ(range_of(a), "public") << a;
}
