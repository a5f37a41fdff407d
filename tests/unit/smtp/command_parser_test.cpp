#include "smtp/command_parser.hpp"

#include <gtest/gtest.h>

using namespace rampart::smtp;

TEST(CommandParser, VerbsAreCaseInsensitive) {
    EXPECT_EQ(parse_command("ehlo client.test", false).verb, Verb::Ehlo);
    EXPECT_EQ(parse_command("QuIt", false).verb, Verb::Quit);
    EXPECT_EQ(parse_command("STARTTLS", false).verb, Verb::StartTls);
}

TEST(CommandParser, UnknownAndControlCharacters) {
    auto c = parse_command("FOO bar", false);
    ASSERT_TRUE(c.error);
    EXPECT_EQ(c.error->code, 500);
    c = parse_command(std::string("NOOP\0x", 6), false);
    ASSERT_TRUE(c.error);
    EXPECT_EQ(c.error->enhanced, "5.5.2");
    c = parse_command("DATA now", false);
    ASSERT_TRUE(c.error);
    EXPECT_EQ(c.error->code, 501);
    EXPECT_TRUE(parse_command("EHLO", false).error);
}

TEST(CommandParser, MailWithParameters) {
    auto c = parse_command("MAIL FROM:<a@example.test> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1", false);
    ASSERT_FALSE(c.error) << c.error->text;
    EXPECT_EQ(c.path.text(), "a@example.test");
    EXPECT_EQ(c.mail.size, 1000u);
    EXPECT_EQ(c.mail.body, Body::EightBitMime);
    EXPECT_EQ(c.mail.ret, Ret::Hdrs);
    EXPECT_EQ(c.mail.envid, "QQ+2B1");
    EXPECT_EQ(decode_xtext(c.mail.envid), "QQ+1");
}

TEST(CommandParser, MailToleratesSpaceAfterColonAndNullSender) {
    auto c = parse_command("MAIL FROM: <>", false);
    ASSERT_FALSE(c.error);
    EXPECT_TRUE(c.path.null);
}

TEST(CommandParser, BadParameters) {
    EXPECT_EQ(parse_command("MAIL FROM:<a@b.test> SIZE=abc", false).error->code, 501);
    EXPECT_EQ(parse_command("MAIL FROM:<a@b.test> BODY=BINARYMIME", false).error->code, 555);
    EXPECT_EQ(parse_command("MAIL FROM:<a@b.test> FOO=1", false).error->code, 555);
    EXPECT_EQ(parse_command("MAIL FROM:<a@b.test> SIZE=1 SIZE=2", false).error->code, 501);
    EXPECT_EQ(parse_command("RCPT TO:<a@b.test> NOTIFY=NEVER,SUCCESS", false).error->code, 555);
    EXPECT_EQ(parse_command("RCPT TO:<a@b.test> ORCPT=rfc822", false).error->code, 501);
    EXPECT_EQ(parse_command("MAIL TO:<a@b.test>", false).error->code, 501);
    EXPECT_EQ(parse_command("MAIL FROM:<a@b.test>x", false).error->code, 501);
}

TEST(CommandParser, RcptDsnParameters) {
    auto c = parse_command("RCPT TO:<a@b.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40b.test", false);
    ASSERT_FALSE(c.error) << c.error->text;
    EXPECT_EQ(c.rcpt.notify, notify::Success | notify::Failure);
    EXPECT_EQ(c.rcpt.orcpt, "rfc822;a+40b.test");
}

// RFC 3461 §4.2: ORCPT=addr-type ";" xtext, addr-type an atom. A TAB is neither (it once
// reached the spool's tab-separated rcpt record and split it).
TEST(CommandParser, MalformedOrcptIsRefused) {
    for (const char* bad : {"ORCPT=rfc822\tevil@attacker.test\t;x", "ORCPT=rfc822;x\ty",
                            "ORCPT=rfc(822);x", "ORCPT=rfc822", "ORCPT=;x", "ORCPT=rfc822;", "ORCPT=rfc822;a=b",
                            "ORCPT=rfc822;a+4", "ORCPT=rfc\xC3\xA9;x"}) {
        auto c = parse_command(std::string("RCPT TO:<a@b.test> ") + bad, false);
        ASSERT_TRUE(c.error) << bad;
        EXPECT_EQ(c.error->code, 501) << bad;
        EXPECT_EQ(c.error->enhanced, "5.5.4") << bad;
    }
    EXPECT_FALSE(parse_command("RCPT TO:<a@b.test> ORCPT=utf-8;j+C3+B6rg@b.test", false).error);
    EXPECT_FALSE(parse_command("RCPT TO:<a@b.test> ORCPT=x-local!#$%&'*+-/?^_`{|}~;x", false).error);
}

// RFC 5321 §4.1.2: esmtp-value = 1*(%d33-60 / %d62-126); no TAB, no control, no "=".
TEST(CommandParser, ParameterValuesAreVisibleAscii) {
    EXPECT_EQ(parse_command("MAIL FROM:<a@b.test> ENVID=a\tb", false).error->code, 501);
    EXPECT_EQ(parse_command("MAIL FROM:<a@b.test> SIZE=1\t", false).error->code, 501);
    EXPECT_EQ(parse_command("RCPT TO:<a@b.test> NOTIFY=SUCCESS\t", false).error->code, 501);
    EXPECT_EQ(parse_command("MAIL FROM:<a@b.test> AUTH=<>\t", false).error->code, 501);
}

TEST(CommandParser, Smtputf8GovernsAddresses) {
    EXPECT_EQ(parse_command("MAIL FROM:<jörg@b.test>", false).error->enhanced, "5.6.7");
    EXPECT_FALSE(parse_command("MAIL FROM:<jörg@b.test> SMTPUTF8", false).error);
    EXPECT_EQ(parse_command("RCPT TO:<jörg@b.test>", false).error->enhanced, "5.6.7");
    EXPECT_FALSE(parse_command("RCPT TO:<jörg@b.test>", true).error);
}

TEST(CommandParser, Bdat) {
    auto c = parse_command("BDAT 1000 LAST", false);
    ASSERT_FALSE(c.error);
    EXPECT_EQ(c.chunk_size, 1000u);
    EXPECT_TRUE(c.last_chunk);
    EXPECT_TRUE(parse_command("BDAT x", false).error);
    EXPECT_TRUE(parse_command("BDAT 10 FIRST", false).error);
}

TEST(Xtext, Validation) {
    EXPECT_TRUE(valid_xtext("abc+2B"));
    EXPECT_FALSE(valid_xtext("abc+2"));
    EXPECT_FALSE(valid_xtext("a=b"));
    EXPECT_FALSE(valid_xtext("a b"));
    EXPECT_FALSE(valid_xtext("+2b"));
}

// Issue 14: the EHLO argument ends up in our Received header.
struct HeloCase {
    std::string argument;
    bool ok;
};
class HeloArgument : public ::testing::TestWithParam<HeloCase> {};

TEST_P(HeloArgument, DomainOrAddressLiteralOnly) {
    for (const char* verb : {"EHLO ", "HELO "}) {
        auto c = parse_command(verb + GetParam().argument, false);
        EXPECT_EQ(!c.error, GetParam().ok) << verb << GetParam().argument;
        if (c.error) {
            EXPECT_EQ(c.error->code, 501);
            EXPECT_EQ(c.error->enhanced, "5.5.4");
        } else {
            EXPECT_EQ(c.argument, GetParam().argument);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    CommandParser, HeloArgument,
    ::testing::Values(HeloCase{"client.test", true}, HeloCase{"Mail-1.Example.TEST", true},
                      HeloCase{"DESKTOP_4F2A", true},          // Windows host names
                      HeloCase{"mx.example.test.", true},      // a final dot
                      HeloCase{"localhost", true}, HeloCase{"192.0.2.1", true},
                      HeloCase{"[192.0.2.1]", true}, HeloCase{"[IPv6:2001:db8::1]", true},
                      HeloCase{std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                                   std::string(63, 'd'),
                               true},                               // 255 octets
                      HeloCase{std::string(2030, 'a'), false},   // longer than a domain may be
                      HeloCase{std::string(64, 'a') + ".test", false},
                      HeloCase{"a\tb.test", false}, HeloCase{"caf\xc3\xa9.test", false}, HeloCase{"a\x80.test", false},
                      HeloCase{"a..test", false}, HeloCase{".test", false}, HeloCase{"a/b.test", false},
                      HeloCase{"\"quoted\"", false}, HeloCase{"[192.0.2.300]", false}, HeloCase{"[tag:foo]", false},
                      HeloCase{"[192.0.2.1", false}, HeloCase{"[192.0.2.1]x", false}));
