// Unit tests for audit/verdicts and audit/report: what counts as open, and the exit code.
#include "audit/verdicts.hpp"

#include <gtest/gtest.h>

#include "audit/report.hpp"

namespace rampart::audit {
namespace {

TEST(AuditRelay, AcceptedForeignRecipientIsOpen) {
    EXPECT_EQ(relay_verdict(250, 250, false, false).result, Outcome::Open);
    EXPECT_EQ(relay_verdict(250, 250, false, true).result, Outcome::Open);   // catch-all does not excuse a foreign domain
}

TEST(AuditRelay, RefusedSenderIsOk) {   // no transaction: nothing can be relayed from it
    EXPECT_EQ(relay_verdict(553, 0, false, false).result, Outcome::Ok);
}

TEST(AuditBareLf, OpenOnlyWhenTheLfEndedCommandRan) {
    EXPECT_EQ(bare_lf_verdict(250, {250}).result, Outcome::Open);   // RSET ran, NOOP answered
    EXPECT_EQ(bare_lf_verdict(500, {250}).result, Outcome::Ok);     // refused at the LF (rampart)
    EXPECT_EQ(bare_lf_verdict(501, {}).result, Outcome::Ok);        // one line "RSET\nNOOP"
    EXPECT_EQ(bare_lf_verdict(521, {}).result, Outcome::Ok);        // refused and closed
    EXPECT_EQ(bare_lf_verdict(0, {}).result, Outcome::Inconclusive);
}

TEST(AuditRelay, RefusedRecipientIsOk) {
    EXPECT_EQ(relay_verdict(250, 554, false, false).result, Outcome::Ok);
    EXPECT_EQ(relay_verdict(250, 454, true, false).result, Outcome::Ok);
}

TEST(AuditRelay, NoJudgementIsInconclusive) {
    EXPECT_EQ(relay_verdict(451, 0, false, false).result, Outcome::Inconclusive);   // sender refused for now
    EXPECT_EQ(relay_verdict(0, 0, false, false).result, Outcome::Inconclusive);
    EXPECT_EQ(relay_verdict(250, 0, false, false).result, Outcome::Inconclusive);
    // A catch-all at the own domain accepts the trick as a local address: only a delivery would tell.
    EXPECT_EQ(relay_verdict(250, 250, true, true).result, Outcome::Inconclusive);
    EXPECT_EQ(relay_verdict(250, 250, true, false).result, Outcome::Open);
}

TEST(AuditRelay, BatteryHoldsEveryTrick) {
    auto cases = relay_cases("example.test", "example.net", "127.0.0.1");
    auto find = [&](const std::string& id) {
        for (const auto& c : cases)
            if (c.id == id) return c.recipient;
        return std::string();
    };
    EXPECT_EQ(find("plain"), "rampart-audit@example.net");
    EXPECT_EQ(find("percent_hack"), "rampart-audit%example.net@example.test");
    EXPECT_EQ(find("percent_hack_literal"), "rampart-audit%example.net@[127.0.0.1]");
    EXPECT_EQ(find("bang_path"), "example.net!rampart-audit@example.test");
    EXPECT_EQ(find("quoted_local_part"), "\"rampart-audit@example.net\"@example.test");
    EXPECT_EQ(find("source_route"), "@example.test:rampart-audit@example.net");
    EXPECT_EQ(find("foreign_literal"), "rampart-audit@[192.0.2.1]");
    EXPECT_EQ(find("mx_trick"), "");   // only with a domain the auditor controls
    auto with_mx = relay_cases("example.test", "example.net", "127.0.0.1", "mx-trick.example.org");
    ASSERT_EQ(with_mx.size(), cases.size() + 1);
    EXPECT_EQ(with_mx.back().recipient, "rampart-audit@mx-trick.example.org");
    EXPECT_FALSE(with_mx.back().at_own_domain);
}

TEST(AuditVrfy, DifferentAnswersDisclose) {
    EXPECT_EQ(vrfy_verdict(250, 550).result, Outcome::Open);
    EXPECT_EQ(vrfy_verdict(252, 550).result, Outcome::Open);
    EXPECT_EQ(vrfy_verdict(252, 252).result, Outcome::Ok);
    EXPECT_EQ(vrfy_verdict(502, 502).result, Outcome::Ok);
    EXPECT_EQ(vrfy_verdict(250, 250).result, Outcome::Ok);
    EXPECT_EQ(vrfy_verdict(0, 550).result, Outcome::Inconclusive);
    EXPECT_EQ(expn_verdict(250).result, Outcome::Open);
    EXPECT_EQ(expn_verdict(502).result, Outcome::Ok);
}

TEST(AuditExtraReplies, AnyAnswerToTheHiddenCommandIsOpen) {
    EXPECT_EQ(unexpected_replies_verdict({}, "x").result, Outcome::Ok);
    EXPECT_EQ(unexpected_replies_verdict({250}, "x").result, Outcome::Open);
    EXPECT_EQ(unexpected_replies_verdict({250, 502}, "x").result, Outcome::Open);
}

TEST(AuditEhlo, AuthInClearAndKeywords) {
    std::vector<std::string> ehlo = {"250-mx.example.test", "250-PIPELINING", "250-AUTH=LOGIN", "250-AUTH CRAM-MD5 PLAIN",
                                     "250 STARTTLS"};
    EXPECT_EQ(clear_text_auth(ehlo), "LOGIN PLAIN");
    EXPECT_TRUE(ehlo_has(ehlo, "starttls"));
    EXPECT_TRUE(ehlo_has(ehlo, "PIPELINING"));
    EXPECT_FALSE(ehlo_has(ehlo, "CHUNKING"));
    EXPECT_EQ(clear_text_auth({"250-mx", "250-AUTH CRAM-MD5", "250 8BITMIME"}), "");
    EXPECT_EQ(clear_text_auth({"250 AUTH PLAIN"}), "");   // the first line is the server's name
}

TEST(AuditGreeting, DomainFromTheServerName) {
    EXPECT_EQ(domain_from_greeting("mx.example.org ESMTP Postfix"), "example.org");
    EXPECT_EQ(domain_from_greeting("example.org ESMTP"), "example.org");
    EXPECT_EQ(domain_from_greeting("MX1.Mail.Example.ORG. ready"), "mail.example.org");
    EXPECT_EQ(domain_from_greeting("localhost ESMTP"), "");
    EXPECT_EQ(domain_from_greeting("[192.0.2.1] ready"), "");
    EXPECT_EQ(domain_from_greeting("evil\x1b[2J.example ready"), "");
}

TEST(AuditReport, ExitCodeAndRendering) {
    Report r;
    r.target = "mx.example.test:25";
    r.findings.push_back({"vrfy", "VRFY", Outcome::Ok, "same", {"C: VRFY a"}, "fix"});
    r.findings.push_back({"smuggling", "smuggling", Outcome::Inconclusive, "not tried", {}, "fix"});
    EXPECT_EQ(exit_code(r), 0);
    r.findings.push_back({"relay.plain.foreign_sender", "relay", Outcome::Open, "accepted",
                          {"C: RCPT TO:<a@example.net>", "S: 250 2.1.5 Ok"}, "smtpd_relay_restrictions"});
    EXPECT_EQ(exit_code(r), 1);
    std::string text = render_text(r);
    EXPECT_NE(text.find("[OPEN] relay.plain.foreign_sender"), std::string::npos);
    EXPECT_NE(text.find("S: 250 2.1.5 Ok"), std::string::npos);
    EXPECT_NE(text.find("fix: smtpd_relay_restrictions"), std::string::npos);
    EXPECT_EQ(text.find("C: VRFY a"), std::string::npos);   // ok findings: no evidence unless verbose
    EXPECT_NE(render_text(r, true).find("C: VRFY a"), std::string::npos);
    std::string json = render_json(r);
    EXPECT_NE(json.find("\"open\": 1"), std::string::npos);
    EXPECT_NE(json.find("\"result\": \"inconclusive\""), std::string::npos);
}

}  // namespace
}  // namespace rampart::audit
