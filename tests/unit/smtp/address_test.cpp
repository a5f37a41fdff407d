#include "smtp/address.hpp"

#include <gtest/gtest.h>

using namespace rampart::smtp;

namespace {
struct Case {
    const char* input;
    bool ok;
    const char* local;    // expected local part when ok
    const char* domain;
    const char* enhanced; // expected error code when not ok
};

class PathTest : public ::testing::TestWithParam<Case> {};

TEST_P(PathTest, Parses) {
    const Case& c = GetParam();
    std::size_t used = 0;
    PathResult r = parse_path(c.input, PathKind::Forward, false, &used);
    if (c.ok) {
        ASSERT_TRUE(std::holds_alternative<Path>(r)) << c.input << ": " << std::get<AddressError>(r).message;
        const Path& p = std::get<Path>(r);
        EXPECT_EQ(p.mailbox.local, c.local);
        EXPECT_EQ(p.mailbox.domain, c.domain);
    } else {
        ASSERT_TRUE(std::holds_alternative<AddressError>(r)) << c.input;
        EXPECT_EQ(std::get<AddressError>(r).enhanced, c.enhanced) << c.input;
    }
}

INSTANTIATE_TEST_SUITE_P(Rfc5321, PathTest, ::testing::Values(
    Case{"<a@example.test>", true, "a", "example.test", ""},
    Case{"<John.Doe@Example.TEST>", true, "John.Doe", "Example.TEST", ""},
    Case{"<\"a b\"@example.test>", true, "\"a b\"", "example.test", ""},
    Case{"<\"u@outside.test\"@example.test>", true, "\"u@outside.test\"", "example.test", ""},
    Case{"<u%outside.test@example.test>", true, "u%outside.test", "example.test", ""},
    Case{"<@relay.test,@other.test:u@outside.test>", true, "u", "outside.test", ""},
    Case{"<u@[192.0.2.1]>", true, "u", "[192.0.2.1]", ""},
    Case{"<u@[IPv6:2001:db8::1]>", true, "u", "[IPv6:2001:db8::1]", ""},
    Case{"<Postmaster>", true, "Postmaster", "", ""},
    Case{"<u@outside.test.>", false, "", "", "5.1.3"},
    Case{"<u@@outside.test>", false, "", "", "5.1.3"},
    Case{"<u@a@b.test>", false, "", "", "5.1.3"},
    Case{"<.u@example.test>", false, "", "", "5.1.3"},
    Case{"<u.@example.test>", false, "", "", "5.1.3"},
    Case{"<u..v@example.test>", false, "", "", "5.1.3"},
    Case{"<u@-bad.test>", false, "", "", "5.1.3"},
    Case{"<u@bad-.test>", false, "", "", "5.1.3"},
    Case{"<u@[300.1.1.1]>", false, "", "", "5.1.3"},
    Case{"<u@[tag:stuff]>", false, "", "", "5.1.3"},
    Case{"u@example.test", false, "", "", "5.1.3"},
    Case{"<u@example.test", false, "", "", "5.1.3"},
    Case{"<>", false, "", "", "5.1.3"},
    Case{"<u>", false, "", "", "5.1.3"},
    Case{"<\"unterminated@example.test>", false, "", "", "5.1.3"},
    Case{"<jörg@example.test>", false, "", "", "5.6.7"},
    Case{"<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.test>", false, "", "", "5.1.3"}));
}  // namespace

TEST(Path, NullReversePath) {
    std::size_t used = 0;
    PathResult r = parse_path("<> SIZE=10", PathKind::Reverse, false, &used);
    ASSERT_TRUE(std::holds_alternative<Path>(r));
    EXPECT_TRUE(std::get<Path>(r).null);
    EXPECT_EQ(used, 2u);
}

TEST(Path, Utf8NeedsSmtputf8AndMustBeValid) {
    EXPECT_TRUE(std::holds_alternative<Path>(parse_path("<jörg@bücher.test>", PathKind::Forward, true, nullptr)));
    auto bad = parse_path("<j\xff@example.test>", PathKind::Forward, true, nullptr);
    ASSERT_TRUE(std::holds_alternative<AddressError>(bad));
    EXPECT_EQ(std::get<AddressError>(bad).enhanced, "5.6.7");
}

TEST(Path, SourceRouteIsFlaggedAndDropped) {
    auto r = parse_path("<@example.test:u@outside.test>", PathKind::Forward, false, nullptr);
    ASSERT_TRUE(std::holds_alternative<Path>(r));
    EXPECT_TRUE(std::get<Path>(r).source_route);
    EXPECT_EQ(std::get<Path>(r).mailbox.domain_key(), "outside.test");
}

TEST(Mailbox, UnquotedLocalPart) {
    Mailbox m{"\"a\\\"b@c\"", "x.test", false, true};
    EXPECT_EQ(m.local_unquoted(), "a\"b@c");
}

TEST(Utf8, Validation) {
    EXPECT_TRUE(valid_utf8("plain"));
    EXPECT_TRUE(valid_utf8("grüße"));
    EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(valid_utf8("\xe2\x82"));          // truncated
}

// ---- One canonical key per mailbox (issue 14 item 8) ----
TEST(MailboxKey, QuotedAndUnquotedLocalPartsAreOneMailbox) {
    auto key = [](std::string_view text) {
        auto m = parse_mailbox(text);
        EXPECT_TRUE(m) << text;
        return m ? m->key() : std::string();
    };
    EXPECT_EQ(key("alice@example.test"), "alice@example.test");
    EXPECT_EQ(key("\"alice\"@example.test"), "alice@example.test");
    EXPECT_EQ(key("\"al\\ice\"@Example.TEST"), "alice@example.test");
    EXPECT_EQ(key("\"a b\"@example.test"), "a b@example.test");
    EXPECT_EQ(key("Alice@EXAMPLE.test"), "Alice@example.test");   // the local part's case is the directory's business
    EXPECT_EQ(key("\"a@b\"@example.test"), "a@b@example.test");   // the last '@' still splits it
    EXPECT_EQ(key("user@[192.0.2.1]"), "user@[192.0.2.1]");
    EXPECT_EQ(key("Postmaster"), "Postmaster");
    EXPECT_EQ(key("\"j\xc3\xb6rg\"@example.test"), "j\xc3\xb6rg@example.test");
}

TEST(MailboxKey, ParseMailboxRefusesWhatIsNotAMailbox) {
    EXPECT_FALSE(parse_mailbox(""));
    EXPECT_FALSE(parse_mailbox("alice"));
    EXPECT_FALSE(parse_mailbox("alice@"));
    EXPECT_FALSE(parse_mailbox("<alice@example.test>"));
    EXPECT_FALSE(parse_mailbox("@relay.test:alice@example.test"));
    EXPECT_FALSE(parse_mailbox("alice@example.test> SIZE=1"));
    EXPECT_FALSE(parse_mailbox("j\xc3\xb6rg@example.test", false));
    auto m = parse_mailbox("\"x y\"@Example.Test");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->quoted);
    EXPECT_EQ(m->domain, "Example.Test");
    EXPECT_EQ(m->text(), "\"x y\"@Example.Test");
}
