#include "senderauth/dmarc.hpp"

#include <gtest/gtest.h>

using namespace rampart::senderauth;
using namespace rampart::senderauth::dmarc;

namespace {

const PublicSuffixList& psl() {
    static const PublicSuffixList list = PublicSuffixList::parse("com\ntest\nuk\nco.uk\n");
    return list;
}

std::string msg(std::string_view from) {
    return "Received: x\r\nFrom: " + std::string(from) + "\r\nSubject: s\r\n\r\nFrom: body@other.test\r\n";
}

TxtAnswer records(std::vector<std::string> r) { return TxtAnswer{TxtAnswer::Kind::Records, std::move(r)}; }
TxtAnswer nothing() { return TxtAnswer{TxtAnswer::Kind::NoRecord, {}}; }

dkim::DkimOutcome dkim_pass(std::string domain) {
    dkim::DkimOutcome o;
    o.result = dkim::DkimResult::Pass;
    o.domain = std::move(domain);
    return o;
}

Outcome run(std::string_view from, std::vector<TxtAnswer> answers, SpfIdentity spf,
            std::vector<dkim::DkimOutcome> dk = {}, unsigned roll = 0) {
    Request req = request(msg(from), psl());
    return evaluate(req, answers, spf, dk, psl(), roll);
}

}  // namespace

TEST(DmarcRecord, Parses) {
    auto r = parse_record("v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s; aspf=r; rua=mailto:a@x.test,mailto:b@x.test; fo=1");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->p, Policy::Reject);
    EXPECT_EQ(r->sp, Policy::Quarantine);
    EXPECT_EQ(r->pct, 50u);
    EXPECT_TRUE(r->adkim_strict);
    EXPECT_FALSE(r->aspf_strict);
    EXPECT_EQ(r->rua.size(), 2u);
    EXPECT_EQ(r->fo, "1");
    EXPECT_TRUE(r->warnings.empty());
}

TEST(DmarcRecord, BadInput) {
    EXPECT_FALSE(parse_record("p=reject; v=DMARC1").ok());           // v= first
    EXPECT_FALSE(parse_record("v=DMARC2; p=reject").ok());
    EXPECT_FALSE(parse_record("v=DMARC1").ok());                      // no p=, no rua=
    EXPECT_FALSE(parse_record("v=DMARC1; p=bounce").ok());
    EXPECT_FALSE(parse_record("v=DMARC1; p=none; p=reject").ok());   // duplicate
    EXPECT_FALSE(parse_record("v=DMARC1; p=reject; " + std::string(5000, 'x')).ok());
    auto rua_only = parse_record("v=DMARC1; rua=mailto:a@x.test");
    ASSERT_TRUE(rua_only.ok());
    EXPECT_EQ(rua_only->p, Policy::None);                             // §6.6.3 step 6
    auto bad_optional = parse_record("v=DMARC1; p=quarantine; pct=150; adkim=x; sp=maybe");
    ASSERT_TRUE(bad_optional.ok());
    EXPECT_EQ(bad_optional->pct, 100u);
    EXPECT_FALSE(bad_optional->adkim_strict);
    EXPECT_FALSE(bad_optional->sp);
    EXPECT_EQ(bad_optional->warnings.size(), 3u);
    EXPECT_TRUE(is_dmarc_record("v = DMARC1 ;p=none"));
    EXPECT_FALSE(is_dmarc_record("v=DMARC10; p=none"));
    EXPECT_FALSE(is_dmarc_record("v=spf1 -all"));
}

TEST(DmarcFrom, Domains) {
    EXPECT_EQ(from_domains("Alice <alice@Example.TEST>"), (std::vector<std::string>{"example.test"}));
    EXPECT_EQ(from_domains("\"ceo@bank.test\" <x@evil.test>"), (std::vector<std::string>{"evil.test"}));
    EXPECT_EQ(from_domains("bob@a.test (Bob @ b.test)"), (std::vector<std::string>{"a.test"}));
    EXPECT_EQ(from_domains("a@x.test, B <b@y.test>"), (std::vector<std::string>{"x.test", "y.test"}));
    EXPECT_EQ(from_domains("Team: a@x.test, b@x.test;"), (std::vector<std::string>{"x.test", "x.test"}));
    EXPECT_EQ(from_domains("<@relay.test:a@x.test>"), (std::vector<std::string>{"x.test"}));
    EXPECT_EQ(from_domains("\"quoted local\"@x.test"), (std::vector<std::string>{"x.test"}));
    EXPECT_EQ(from_domains("nobody"), (std::vector<std::string>{""}));
    EXPECT_EQ(from_domains("a@[192.0.2.1]"), (std::vector<std::string>{""}));
    EXPECT_TRUE(from_domains("undisclosed-recipients:;").empty());
}

TEST(DmarcRequest, FromFieldRules) {
    Request ok = request(msg("Alice <a@mail.example.co.uk>"), psl());
    EXPECT_FALSE(ok.done);
    EXPECT_EQ(ok.from_domain, "mail.example.co.uk");
    EXPECT_EQ(ok.org_domain, "example.co.uk");
    EXPECT_EQ(ok.names, (std::vector<std::string>{"_dmarc.mail.example.co.uk", "_dmarc.example.co.uk"}));
    EXPECT_EQ(request(msg("a@example.com"), psl()).names, (std::vector<std::string>{"_dmarc.example.com"}));
    EXPECT_FALSE(request(msg("a@x.example.com, b@x.example.com"), psl()).done);   // one domain

    Request two_fields = request("From: a@x.test\r\nFrom: b@y.test\r\n\r\n", psl());
    EXPECT_TRUE(two_fields.done);
    EXPECT_EQ(two_fields.outcome.result, DmarcResult::PermError);
    EXPECT_EQ(two_fields.outcome.reason, "several From fields");
    Request two_domains = request(msg("a@x.test, b@y.test"), psl());
    EXPECT_EQ(two_domains.outcome.result, DmarcResult::PermError);
    EXPECT_EQ(two_domains.outcome.reason, "From addresses in several domains");
    EXPECT_EQ(request("Subject: x\r\n\r\nFrom: a@x.test\r\n", psl()).outcome.reason, "no From field");
    EXPECT_EQ(request(msg("undisclosed-recipients:;"), psl()).outcome.reason, "no From address");
    EXPECT_EQ(request(msg("a@-bad-.test"), psl()).outcome.result, DmarcResult::PermError);
}

TEST(DmarcEvaluate, RelaxedAndStrictAlignment) {
    const std::string relaxed = "v=DMARC1; p=reject";
    const std::string strict = "v=DMARC1; p=reject; adkim=s; aspf=s";
    // DKIM d= the organisational domain, From a subdomain.
    Outcome r = run("a@news.example.com", {nothing(), records({relaxed})}, {}, {dkim_pass("example.com")});
    EXPECT_EQ(r.result, DmarcResult::Pass) << r.reason;
    EXPECT_EQ(r.disposition, Policy::None);
    Outcome s = run("a@news.example.com", {nothing(), records({strict})}, {}, {dkim_pass("example.com")});
    EXPECT_EQ(s.result, DmarcResult::Fail);
    EXPECT_EQ(s.disposition, Policy::Reject);
    EXPECT_NE(s.reason.find("DKIM pass d=example.com not aligned"), std::string::npos) << s.reason;
    // SPF: the MAIL FROM domain.
    EXPECT_EQ(run("a@example.com", {records({relaxed})}, {"bounces.example.com", true}).result, DmarcResult::Pass);
    EXPECT_EQ(run("a@example.com", {records({strict})}, {"bounces.example.com", true}).result, DmarcResult::Fail);
    EXPECT_EQ(run("a@example.com", {records({strict})}, {"Example.COM.", true}).result, DmarcResult::Pass);
    EXPECT_EQ(run("a@example.com", {records({relaxed})}, {"example.com", false}).result, DmarcResult::Fail);
    // A pass for an unrelated domain (the same public suffix) never aligns.
    EXPECT_EQ(run("a@example.co.uk", {records({relaxed})}, {"evil.co.uk", true}, {dkim_pass("co.uk")}).result,
              DmarcResult::Fail);
    // A failed DKIM signature of the right domain does not count.
    dkim::DkimOutcome failed = dkim_pass("example.com");
    failed.result = dkim::DkimResult::Fail;
    EXPECT_EQ(run("a@example.com", {records({relaxed})}, {}, {failed}).result, DmarcResult::Fail);
}

TEST(DmarcEvaluate, SubdomainPolicyOnlyFromTheOrganisationalRecord) {
    const std::string rec = "v=DMARC1; p=reject; sp=quarantine";
    Outcome sub = run("a@news.example.com", {nothing(), records({rec})}, {});
    EXPECT_EQ(sub.published, Policy::Quarantine);
    EXPECT_NE(sub.reason.find("policy sp=quarantine"), std::string::npos) << sub.reason;
    Outcome own = run("a@news.example.com", {records({rec})}, {});   // the subdomain's own record
    EXPECT_EQ(own.published, Policy::Reject);
    Outcome org = run("a@example.com", {records({rec})}, {});
    EXPECT_EQ(org.published, Policy::Reject);
    Outcome no_sp = run("a@news.example.com", {nothing(), records({"v=DMARC1; p=quarantine"})}, {});
    EXPECT_EQ(no_sp.published, Policy::Quarantine);
}

TEST(DmarcEvaluate, PctSamplesDownOnePolicy) {
    const std::string rec = "v=DMARC1; p=reject; pct=25";
    Outcome in = run("a@example.com", {records({rec})}, {}, {}, 24);
    EXPECT_EQ(in.disposition, Policy::Reject);
    EXPECT_FALSE(in.sampled_out);
    Outcome out = run("a@example.com", {records({rec})}, {}, {}, 25);
    EXPECT_EQ(out.result, DmarcResult::Fail);
    EXPECT_EQ(out.disposition, Policy::Quarantine);
    EXPECT_TRUE(out.sampled_out);
    Outcome q = run("a@example.com", {records({"v=DMARC1; p=quarantine; pct=0"})}, {}, {}, 0);
    EXPECT_EQ(q.disposition, Policy::None);
}

TEST(DmarcEvaluate, DiscoveryOutcomes) {
    Request req = request(msg("a@news.example.com"), psl());
    EXPECT_TRUE(keep_looking(nothing()));
    EXPECT_TRUE(keep_looking(records({"v=spf1 -all"})));
    EXPECT_FALSE(keep_looking(records({"v=DMARC1; p=none"})));
    EXPECT_FALSE(keep_looking(TxtAnswer{TxtAnswer::Kind::TempFailure, {}}));
    EXPECT_EQ(run("a@news.example.com", {nothing(), nothing()}, {}).result, DmarcResult::None);
    EXPECT_EQ(run("a@news.example.com", {nothing()}, {}).result, DmarcResult::None);
    Outcome temp = run("a@news.example.com", {nothing(), TxtAnswer{TxtAnswer::Kind::TempFailure, {}}}, {});
    EXPECT_EQ(temp.result, DmarcResult::TempError);
    EXPECT_EQ(temp.reason, "DMARC record lookup failed for _dmarc.example.com");
    Outcome several = run("a@example.com", {records({"v=DMARC1; p=reject", "v=DMARC1; p=none"})}, {});
    EXPECT_EQ(several.result, DmarcResult::None);
    Outcome broken = run("a@example.com", {records({"v=DMARC1; p=nonsense"})}, {});
    EXPECT_EQ(broken.result, DmarcResult::PermError);
    Outcome mixed = run("a@example.com", {records({"v=spf1 -all", "v=DMARC1; p=quarantine"})}, {});
    EXPECT_EQ(mixed.result, DmarcResult::Fail);
    EXPECT_EQ(mixed.disposition, Policy::Quarantine);
    EXPECT_EQ(mixed.from_domain, "example.com");
    EXPECT_EQ(result_name(mixed.result), "fail");
    EXPECT_EQ(policy_name(mixed.disposition), "quarantine");
}
