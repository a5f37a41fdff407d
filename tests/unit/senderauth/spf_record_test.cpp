// The SPF record codec: which TXT strings are SPF records, valid and invalid records
// (RFC 7208 §4.6, §5, §6), and macro expansion with the examples of RFC 7208 §7.4.
#include "senderauth/spf_record.hpp"

#include <gtest/gtest.h>

using namespace rampart;
using namespace rampart::senderauth;

namespace {

SpfRecord parse(const char* text) {
    auto r = parse_spf_record(text);
    EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : SpfRecord{};
}

MacroContext example_context() {   // RFC 7208 §7.4
    MacroContext c;
    c.sender = "strong-bad@email.example.com";
    c.local_part = "strong-bad";
    c.sender_domain = "email.example.com";
    c.domain = "email.example.com";
    c.ip = *net::IpAddress::parse("192.0.2.3");
    c.helo = "mx.example.org";
    c.receiver = "mx.example.net";
    return c;
}

std::string expand(const char* spec, const MacroContext& c, bool exp = false) {
    auto r = expand_macros(spec, c, exp, !exp);
    EXPECT_TRUE(r.ok()) << spec << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : "";
}

}  // namespace

TEST(SpfRecord, RecognisesVersionTag) {
    EXPECT_TRUE(is_spf_record("v=spf1"));
    EXPECT_TRUE(is_spf_record("v=spf1 -all"));
    EXPECT_TRUE(is_spf_record("V=SPF1 -all"));
    EXPECT_FALSE(is_spf_record("v=spf10 -all"));
    EXPECT_FALSE(is_spf_record("v=spf1-all"));
    EXPECT_FALSE(is_spf_record("spf2.0/pra -all"));
    EXPECT_FALSE(is_spf_record(" v=spf1 -all"));
}

TEST(SpfRecord, ParsesEveryMechanismAndQualifier) {
    SpfRecord r = parse("v=spf1 +all -include:_spf.example.com ~a ?a:mail.example.com/24//64 mx mx:example.org//48 "
                        "ptr ptr:example.net ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{i}.bl.example.com IP4:10.1.2.3");
    ASSERT_EQ(r.mechanisms.size(), 12u);
    EXPECT_EQ(r.mechanisms[0].kind, MechanismKind::All);
    EXPECT_EQ(r.mechanisms[0].qualifier, Qualifier::Pass);
    EXPECT_EQ(r.mechanisms[1].kind, MechanismKind::Include);
    EXPECT_EQ(r.mechanisms[1].qualifier, Qualifier::Fail);
    EXPECT_EQ(r.mechanisms[1].domain_spec, "_spf.example.com");
    EXPECT_EQ(r.mechanisms[2].qualifier, Qualifier::SoftFail);
    EXPECT_EQ(r.mechanisms[2].domain_spec, "");
    EXPECT_EQ(r.mechanisms[3].qualifier, Qualifier::Neutral);
    EXPECT_EQ(r.mechanisms[3].domain_spec, "mail.example.com");
    EXPECT_EQ(r.mechanisms[3].cidr4, 24u);
    EXPECT_EQ(r.mechanisms[3].cidr6, 64u);
    EXPECT_EQ(r.mechanisms[4].kind, MechanismKind::Mx);
    EXPECT_EQ(r.mechanisms[4].cidr4, 32u);
    EXPECT_EQ(r.mechanisms[5].cidr4, 32u);
    EXPECT_EQ(r.mechanisms[5].cidr6, 48u);
    EXPECT_EQ(r.mechanisms[5].domain_spec, "example.org");
    EXPECT_EQ(r.mechanisms[6].kind, MechanismKind::Ptr);
    EXPECT_EQ(r.mechanisms[7].domain_spec, "example.net");
    EXPECT_EQ(r.mechanisms[8].network.text(), "192.0.2.0/24");
    EXPECT_EQ(r.mechanisms[9].network.text(), "2001:db8::/32");
    EXPECT_EQ(r.mechanisms[10].kind, MechanismKind::Exists);
    EXPECT_EQ(r.mechanisms[11].network.text(), "10.1.2.3/32");
    EXPECT_FALSE(r.redirect);
}

TEST(SpfRecord, ModifiersAndSpacing) {
    SpfRecord r = parse("v=spf1   a   redirect=_spf.example.com exp=explain.%{d} x-custom=anything.%{d}  ");
    EXPECT_EQ(r.mechanisms.size(), 1u);
    EXPECT_EQ(r.redirect, "_spf.example.com");
    EXPECT_EQ(r.exp, "explain.%{d}");
    EXPECT_TRUE(parse("v=spf1").mechanisms.empty());
}

class SpfRecordInvalid : public ::testing::TestWithParam<const char*> {};

TEST_P(SpfRecordInvalid, IsAnError) {
    auto r = parse_spf_record(GetParam());
    EXPECT_FALSE(r.ok()) << GetParam();
    if (!r.ok()) {
        EXPECT_FALSE(r.error().message.empty());
    }
}

INSTANTIATE_TEST_SUITE_P(
    Records, SpfRecordInvalid,
    ::testing::Values("v=spf2 -all", "x v=spf1", "v=spf1 foo", "v=spf1 all:example.com", "v=spf1 include",
                      "v=spf1 include:", "v=spf1 include:localhost", "v=spf1 include:example.123",
                      "v=spf1 ip4:192.0.2.0/33", "v=spf1 ip4:192.0.2.0/024", "v=spf1 ip4:2001:db8::1",
                      "v=spf1 ip6:192.0.2.1", "v=spf1 ip6:2001:db8::/129", "v=spf1 ip4:1.2.3", "v=spf1 ip4",
                      "v=spf1 a/33", "v=spf1 a//129", "v=spf1 a:example.com/x", "v=spf1 mx:", "v=spf1 exists",
                      "v=spf1 redirect=a.example.com redirect=b.example.com", "v=spf1 exp=a.example.com exp=b.example.com",
                      "v=spf1 redirect=", "v=spf1 a:%{z}.example.com", "v=spf1 a:%{d0}.example.com",
                      "v=spf1 a:%{d", "v=spf1 a:%x.example.com", "v=spf1 a:example.com%", "v=spf1 x=%{", "v=spf1 -",
                      "v=spf1 a:%{c}.example.com/24x", "v=spf1 !all", "v=spf1 a:exa\tmple.com"));

TEST(SpfRecord, MacroStringsCheckedAtParseTime) {
    EXPECT_TRUE(macro_string_problem("%{ir}.%{v}._spf.%{d2}").empty());
    EXPECT_TRUE(macro_string_problem("%%%_%-").empty());
    EXPECT_FALSE(macro_string_problem("%{q}").empty());
    EXPECT_FALSE(macro_string_problem("%{i1r!}").empty());
    EXPECT_FALSE(macro_string_problem("a b").empty());
}

// RFC 7208 §7.4, the examples.
TEST(SpfMacros, Rfc7208Examples) {
    MacroContext c = example_context();
    EXPECT_EQ(expand("%{s}", c), "strong-bad@email.example.com");
    EXPECT_EQ(expand("%{o}", c), "email.example.com");
    EXPECT_EQ(expand("%{d}", c), "email.example.com");
    EXPECT_EQ(expand("%{d4}", c), "email.example.com");
    EXPECT_EQ(expand("%{d3}", c), "email.example.com");
    EXPECT_EQ(expand("%{d2}", c), "example.com");
    EXPECT_EQ(expand("%{d1}", c), "com");
    EXPECT_EQ(expand("%{dr}", c), "com.example.email");
    EXPECT_EQ(expand("%{d2r}", c), "example.email");
    EXPECT_EQ(expand("%{l}", c), "strong-bad");
    EXPECT_EQ(expand("%{l-}", c), "strong.bad");
    EXPECT_EQ(expand("%{lr}", c), "strong-bad");
    EXPECT_EQ(expand("%{lr-}", c), "bad.strong");
    EXPECT_EQ(expand("%{l1r-}", c), "strong");
    EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}", c), "3.2.0.192.in-addr._spf.example.com");
    EXPECT_EQ(expand("%{lr-}.lp._spf.%{d2}", c), "bad.strong.lp._spf.example.com");
    EXPECT_EQ(expand("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", c), "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
    EXPECT_EQ(expand("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", c), "3.2.0.192.in-addr.strong.lp._spf.example.com");
    EXPECT_EQ(expand("%{d2}.trusted-domains.example.net", c), "example.com.trusted-domains.example.net");
    c.ip = *net::IpAddress::parse("2001:db8::cb01");
    EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}", c),
              "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

TEST(SpfMacros, EscapesUrlEncodingAndExplanationLetters) {
    MacroContext c = example_context();
    c.local_part = "a b/c";
    EXPECT_EQ(expand("%{L}", c), "a%20b%2Fc");
    EXPECT_EQ(expand("%%%_%-", c, true), "% %20");
    EXPECT_EQ(expand("%{c} is not allowed for %{r} by %{h}", c, true), "192.0.2.3 is not allowed for mx.example.net by mx.example.org");
    // c, r and t belong to explanations only.
    EXPECT_FALSE(expand_macros("%{c}.example.com", c, false, true).ok());
    EXPECT_FALSE(expand_macros("%{t}.example.com", c, false, true).ok());
}

TEST(SpfMacros, LongDomainLosesLabelsOnTheLeft) {
    MacroContext c = example_context();
    c.local_part = std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') + "." + std::string(60, 'd');
    std::string r = expand("%{l}.%{l}.example.com", c);
    EXPECT_LE(r.size(), 253u);
    EXPECT_TRUE(r.ends_with(".example.com")) << r;
    EXPECT_EQ(r.front(), std::string(r).substr(0, 1)[0]);
    EXPECT_NE(r.front(), '.');
}

TEST(SpfMacros, ReverseNames) {
    EXPECT_EQ(reverse_name(*net::IpAddress::parse("192.0.2.3")), "3.2.0.192.in-addr.arpa");
    EXPECT_EQ(reverse_name(*net::IpAddress::parse("::ffff:192.0.2.3")), "3.2.0.192.in-addr.arpa");
    EXPECT_EQ(reverse_name(*net::IpAddress::parse("2001:db8::1")),
              "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}
