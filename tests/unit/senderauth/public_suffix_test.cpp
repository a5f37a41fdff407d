#include "senderauth/public_suffix.hpp"

#include <gtest/gtest.h>

using namespace rampart::senderauth;

TEST(PublicSuffix, RulesWildcardsAndExceptions) {
    auto psl = PublicSuffixList::parse(
        "// comment\n\ncom\nuk\nco.uk\n*.ck\n!www.ck\n*.kawasaki.jp\n!city.kawasaki.jp\njp\n");
    EXPECT_EQ(psl.public_suffix("example.co.uk"), "co.uk");
    EXPECT_EQ(psl.organizational_domain("a.b.example.co.uk"), "example.co.uk");
    EXPECT_EQ(psl.organizational_domain("Mail.Example.COM."), "example.com");
    EXPECT_EQ(psl.organizational_domain("example.com"), "example.com");
    EXPECT_EQ(psl.organizational_domain("co.uk"), "co.uk");               // a suffix: itself
    EXPECT_EQ(psl.public_suffix("a.b.ck"), "b.ck");                       // wildcard
    EXPECT_EQ(psl.organizational_domain("x.a.b.ck"), "a.b.ck");
    EXPECT_EQ(psl.public_suffix("www.ck"), "ck");                         // exception
    EXPECT_EQ(psl.organizational_domain("mail.www.ck"), "www.ck");
    EXPECT_EQ(psl.organizational_domain("a.foo.kawasaki.jp"), "a.foo.kawasaki.jp");
    EXPECT_EQ(psl.organizational_domain("a.city.kawasaki.jp"), "city.kawasaki.jp");
    EXPECT_EQ(psl.organizational_domain("a.b.unlisted"), "b.unlisted");   // default rule "*"
    EXPECT_EQ(psl.organizational_domain("unlisted"), "unlisted");
    EXPECT_EQ(psl.organizational_domain(""), "");
}

TEST(PublicSuffix, DebianList) {
    auto psl = PublicSuffixList::load();
    ASSERT_TRUE(psl.ok()) << psl.error().message;
    EXPECT_GT(psl->size(), 5000u);
    EXPECT_EQ(psl->organizational_domain("news.bbc.co.uk"), "bbc.co.uk");
    EXPECT_EQ(psl->organizational_domain("a.b.example.com"), "example.com");
    EXPECT_EQ(psl->organizational_domain("x.www.ck"), "www.ck");
    EXPECT_EQ(psl->organizational_domain("a.b.c.ck"), "b.c.ck");
    EXPECT_EQ(psl->organizational_domain("user.github.io"), "user.github.io");   // private section
}

TEST(PublicSuffix, MissingFileNamesThePath) {
    auto psl = PublicSuffixList::load("/nonexistent/psl.dat");
    ASSERT_FALSE(psl.ok());
    EXPECT_NE(psl.error().message.find("/nonexistent/psl.dat"), std::string::npos);
}
