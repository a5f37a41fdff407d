// Authentication-Results (RFC 8601): the field this host adds, the authserv-id an incoming
// field claims, and the removal of incoming fields that claim ours (and only those).
#include "senderauth/auth_results.hpp"

#include <gtest/gtest.h>

using namespace rampart::senderauth;

TEST(AuthResults, SpfMailFrom) {
    AuthResults r;
    r.authserv_id = "mx1.example.test";
    SpfOutcome s;
    s.result = SpfResult::Fail;
    s.identity = "mailfrom";
    s.sender = "bob@example.com";
    s.domain = "example.com";
    s.reason = "example.com matched \"-all\" (x)";
    r.spf = s;
    EXPECT_EQ(format_authentication_results(r),
              "Authentication-Results: mx1.example.test;\r\n\tspf=fail (example.com matched \"-all\" \\(x\\)) "
              "smtp.mailfrom=bob@example.com");
}

TEST(AuthResults, SpfHeloDkimDmarcAndNone) {
    AuthResults r;
    r.authserv_id = "mx1.example.test";
    EXPECT_EQ(format_authentication_results(r), "Authentication-Results: mx1.example.test; none");
    SpfOutcome s;
    s.result = SpfResult::Pass;
    s.identity = "helo";
    s.sender = "postmaster@mail.example.org";
    s.domain = "mail.example.org";
    r.spf = s;
    r.dkim.push_back(DkimOutcome{DkimOutcome::Result::Pass, "example.org", "sel1", ""});
    r.dmarc = DmarcOutcome{DmarcOutcome::Result::Pass, "example.org", "reject", ""};
    EXPECT_EQ(format_authentication_results(r),
              "Authentication-Results: mx1.example.test;\r\n\tspf=pass smtp.helo=mail.example.org;\r\n\t"
              "dkim=pass header.d=example.org header.s=sel1;\r\n\tdmarc=pass (p=reject) header.from=example.org");
}

TEST(AuthResults, OddSenderIsQuoted) {
    AuthResults r;
    r.authserv_id = "mx1.example.test";
    SpfOutcome s;
    s.result = SpfResult::None;
    s.identity = "mailfrom";
    s.sender = "\"a b\"@example.com";
    r.spf = s;
    EXPECT_NE(format_authentication_results(r).find("smtp.mailfrom=\"\\\"a b\\\"@example.com\""), std::string::npos)
        << format_authentication_results(r);
}

TEST(AuthResults, AuthservIdOf) {
    EXPECT_EQ(authserv_id_of(" mx1.example.test; spf=pass"), "mx1.example.test");
    EXPECT_EQ(authserv_id_of(" (comment (nested)) MX1.Example.Test 1; spf=pass"), "mx1.example.test");
    EXPECT_EQ(authserv_id_of(" \"mx1.example.test\"; none"), "mx1.example.test");
    EXPECT_EQ(authserv_id_of("\r\n\tmx1.example.test;"), "mx1.example.test");
    EXPECT_FALSE(authserv_id_of("   "));
    EXPECT_FALSE(authserv_id_of(" ; spf=pass"));
    EXPECT_FALSE(authserv_id_of(" \"unterminated"));
}

TEST(AuthResults, RemovesOnlyFieldsClaimingOurId) {
    std::string msg =
        "Received: from x\r\n"
        "Authentication-Results: mx1.example.test; spf=pass\r\n"
        "\tsmtp.mailfrom=forged@example.com\r\n"
        "authentication-results : (c) MX1.EXAMPLE.TEST; dkim=pass\r\n"
        "Authentication-Results: other.example.net; spf=fail\r\n"
        "Subject: Authentication-Results: mx1.example.test\r\n"
        "\r\n"
        "Authentication-Results: mx1.example.test; body text stays\r\n";
    auto out = remove_own_results(msg, "mx1.example.test");
    ASSERT_TRUE(out);
    EXPECT_EQ(*out,
              "Received: from x\r\n"
              "Authentication-Results: other.example.net; spf=fail\r\n"
              "Subject: Authentication-Results: mx1.example.test\r\n"
              "\r\n"
              "Authentication-Results: mx1.example.test; body text stays\r\n");
    EXPECT_FALSE(remove_own_results(*out, "mx1.example.test"));
    EXPECT_FALSE(remove_own_results(msg, "mx1.example.test.evil"));
}
