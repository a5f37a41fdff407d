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
    dkim::DkimOutcome pass;
    pass.result = dkim::DkimResult::Pass;
    pass.domain = "example.org";
    pass.selector = "sel1";
    pass.header_b = "abc+/def";
    dkim::DkimOutcome fail = pass;
    fail.result = dkim::DkimResult::Fail;
    fail.reason = "body hash mismatch";
    fail.header_b = "ABCDEFGH";
    fail.testing = true;
    r.dkim = {pass, fail};
    dmarc::Outcome d;
    d.result = dmarc::DmarcResult::Pass;
    d.published = dmarc::Policy::Reject;
    d.from_domain = "example.org";
    d.reason = "DKIM pass aligned (d=example.org)";
    r.dmarc = d;
    EXPECT_EQ(format_authentication_results(r),
              "Authentication-Results: mx1.example.test;\r\n\tspf=pass smtp.helo=mail.example.org;\r\n\t"
              "dkim=pass header.d=example.org header.s=sel1 header.b=\"abc+/def\";\r\n\t"
              "dkim=fail (body hash mismatch; key in testing mode \\(t=y\\)) header.d=example.org header.s=sel1 header.b=ABCDEFGH;\r\n\t"
              "dmarc=pass (p=reject dis=none; DKIM pass aligned \\(d=example.org\\)) header.from=example.org");
}

TEST(AuthResults, DkimNoneAndDmarcWithoutRecord) {
    AuthResults r;
    r.authserv_id = "mx1.example.test";
    r.dkim_checked = true;
    dmarc::Outcome d;
    d.result = dmarc::DmarcResult::None;
    d.from_domain = "example.org";
    d.reason = "no DMARC record";
    r.dmarc = d;
    EXPECT_EQ(format_authentication_results(r),
              "Authentication-Results: mx1.example.test;\r\n\tdkim=none (no signature);\r\n\t"
              "dmarc=none (no DMARC record) header.from=example.org");
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
