// The anonymous own-domain-sender rule (DESIGN.md §3.6) of policy/access.cpp: authoritative
// and internal-relay domains are ours, external-relay domains a partner's.
#include <gtest/gtest.h>

#include "config/roles.hpp"
#include "policy/access.hpp"

using namespace rampart;
using namespace rampart::policy;

namespace {

smtp::Path path(const std::string& text) {
    auto r = smtp::parse_path(text, smtp::PathKind::Reverse, true, nullptr);
    EXPECT_TRUE(std::holds_alternative<smtp::Path>(r)) << text;
    return std::get<smtp::Path>(r);
}

class SenderTest : public ::testing::Test {
protected:
    SenderTest() {
        listener = config::preset_listener(config::Role::Gateway);
        listener.name = "internet";
        listener.internet_facing = true;
        listener.relay.list = {*net::Cidr::parse("192.0.2.10/32")};
        domains = {{"example.test", config::DomainType::Authoritative},
                   {"branch.test", config::DomainType::InternalRelay},
                   {"partner.test", config::DomainType::ExternalRelay}};
        facts.listener = &listener;
        facts.domains = &domains;
        facts.client = *net::IpAddress::parse("203.0.113.5");
    }
    Decision mail(const std::string& from, Trace* t = nullptr) { return check_mail(facts, path(from), t); }

    config::Listener listener;
    std::vector<config::Domain> domains;
    SessionFacts facts;
};

}  // namespace

TEST_F(SenderTest, AnonymousAuthoritativeSenderRefusedOnInternetFacingListener) {
    Trace t;
    Decision d = mail("<ceo@Example.TEST>", &t);
    EXPECT_EQ(d.verdict, Verdict::Refuse);
    EXPECT_EQ(d.rule, "internet_facing");
    EXPECT_EQ(d.reply.code, 550);
    EXPECT_EQ(d.reply.enhanced, "5.7.1");
    EXPECT_NE(d.reply.text.find("authoritative"), std::string::npos);
    EXPECT_EQ(t.steps.back().rule, "internet_facing");
}

TEST_F(SenderTest, AnonymousInternalRelaySenderRefusedToo) {
    Decision d = mail("<cfo@Branch.test>");
    EXPECT_EQ(d.verdict, Verdict::Refuse);
    EXPECT_EQ(d.rule, "internet_facing");
    EXPECT_EQ(d.reply.summary(),
              "550 5.7.1 anonymous sender in an internal-relay domain is not accepted on this listener; authenticate first");
}

TEST_F(SenderTest, AcceptedFromARelayListAddress) {
    facts.client = *net::IpAddress::parse("192.0.2.10");
    Trace t;
    EXPECT_NE(mail("<app@example.test>", &t).verdict, Verdict::Refuse);
    bool seen = false;
    for (const auto& s : t.steps)
        if (s.rule == "internet_facing") seen = s.decision.note.find("relay list") != std::string::npos;
    EXPECT_TRUE(seen);
}

TEST_F(SenderTest, OtherSendersAndListenersPass) {
    EXPECT_NE(mail("<a@outside.test>").verdict, Verdict::Refuse);
    EXPECT_NE(mail("<a@partner.test>").verdict, Verdict::Refuse);   // external relay: a partner's
    EXPECT_NE(mail("<>").verdict, Verdict::Refuse);                 // bounces
    listener.internet_facing = false;
    EXPECT_NE(mail("<ceo@example.test>").verdict, Verdict::Refuse);
}

TEST_F(SenderTest, AuthenticatedUsersAreJudgedByTheirOwnAddresses) {
    facts.principal = {Principal::Kind::User, "ceo", {}, {"ceo@example.test"}, false};
    listener.permissions.submit = {"user:ceo"};
    Decision d = mail("<ceo@example.test>");
    EXPECT_EQ(d.verdict, Verdict::Accept);
    EXPECT_EQ(d.rule, "permissions.submit");
}
