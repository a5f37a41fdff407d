#include "net/cidr.hpp"

#include <gtest/gtest.h>

using rampart::net::Cidr;
using rampart::net::IpAddress;

TEST(Cidr, MatchesV4AndV6) {
    auto c = *Cidr::parse("192.0.2.0/24");
    EXPECT_TRUE(c.contains(*IpAddress::parse("192.0.2.77")));
    EXPECT_FALSE(c.contains(*IpAddress::parse("192.0.3.1")));
    EXPECT_TRUE(c.contains(*IpAddress::parse("::ffff:192.0.2.5")));
    auto v6 = *Cidr::parse("2001:db8::/32");
    EXPECT_TRUE(v6.contains(*IpAddress::parse("2001:db8:1::1")));
    EXPECT_FALSE(v6.contains(*IpAddress::parse("192.0.2.1")));
    EXPECT_TRUE(Cidr::parse("10.1.2.3")->contains(*IpAddress::parse("10.1.2.3")));
    EXPECT_EQ(Cidr::parse("10.1.2.3/8")->text(), "10.0.0.0/8");
    EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(*IpAddress::parse("203.0.113.9")));
    EXPECT_TRUE(Cidr::parse("192.0.2.128/25")->contains(*IpAddress::parse("192.0.2.200")));
    EXPECT_FALSE(Cidr::parse("192.0.2.128/25")->contains(*IpAddress::parse("192.0.2.100")));
}

TEST(Cidr, RejectsGarbage) {
    for (const char* bad : {"", "10.0.0.0/33", "10.0.0/8", "host.example", "::/129", "1.2.3.4/", "1.2.3.4/x"})
        EXPECT_FALSE(Cidr::parse(bad).has_value()) << bad;
}

TEST(AddressSet, UnionOfPrefixes) {
    using rampart::net::AddressSet;
    auto c = [](const char* s) { return *Cidr::parse(s); };
    AddressSet v4(false);
    EXPECT_TRUE(v4.empty());
    EXPECT_FALSE(v4.larger_than(32));
    v4.add(c("0.0.0.0/1"));
    v4.add(c("2001:db8::/32"));   // other family: ignored
    EXPECT_FALSE(v4.full());
    EXPECT_TRUE(v4.larger_than(8));
    EXPECT_FALSE(v4.larger_than(1));    // exactly a /1
    v4.add(c("128.0.0.0/2"));
    v4.add(c("192.0.0.0/2"));
    EXPECT_TRUE(v4.full());
    EXPECT_TRUE(v4.larger_than(1));
    EXPECT_FALSE(v4.larger_than(0));
    v4.remove(c("10.0.0.0/8"));
    EXPECT_FALSE(v4.full());
    EXPECT_TRUE(v4.larger_than(1));
    v4.remove(c("0.0.0.0/0"));
    EXPECT_TRUE(v4.empty());

    AddressSet v6(true);
    v6.add(c("::/1"));
    v6.add(c("8000::/1"));
    EXPECT_TRUE(v6.full());
    v6.remove(c("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));   // the top address
    EXPECT_FALSE(v6.full());
    EXPECT_TRUE(v6.larger_than(1));
    v6.remove(c("::/0"));
    EXPECT_TRUE(v6.empty());
    AddressSet one(true);
    one.add(c("2001:db8::1"));
    one.add(c("2001:db8::1/128"));
    EXPECT_FALSE(one.larger_than(128));
    one.add(c("2001:db8::2"));
    EXPECT_TRUE(one.larger_than(128));
    EXPECT_FALSE(one.larger_than(127));   // ::1 and ::2 are not one /127, but two addresses
}
