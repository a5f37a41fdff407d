#include "policy/explain.hpp"

#include <gtest/gtest.h>

#include "config/roles.hpp"

using namespace rampart;
using namespace rampart::policy;

namespace {
struct Fixture {
    config::Listener listener = config::preset_listener(config::Role::Gateway);
    std::vector<config::Domain> domains{{"example.test", config::DomainType::Authoritative}};
    std::vector<config::SendConnector> connectors;
    ExplainQuestion q;
    Fixture() {
        listener.name = "internet";
        q.facts.listener = &listener;
        q.facts.domains = &domains;
        q.facts.connectors = &connectors;
        q.facts.client = *net::IpAddress::parse("198.51.100.7");
        q.mail_from = "a@outside.test";
    }
};
}  // namespace

TEST(Explain, TracesEveryRuleAndTheLiveReply) {
    Fixture f;
    f.q.rcpts = {"x@outside.test", "<bob@example.test>"};
    ExplainAnswer a = explain(f.q);
    EXPECT_FALSE(a.all_accepted);
    EXPECT_NE(a.text.find("listener internet, client 198.51.100.7, principal anonymous, tls no"), std::string::npos) << a.text;
    EXPECT_NE(a.text.find("  => 550 5.7.1 relaying denied   [decided by relay]"), std::string::npos) << a.text;
    EXPECT_NE(a.text.find("  => 250 2.1.5 recipient ok   [decided by domains]"), std::string::npos) << a.text;
    EXPECT_NE(a.text.find("result: 1 of 2 recipient(s) accepted"), std::string::npos) << a.text;
}

TEST(Explain, RefusedConnectionStopsEarly) {
    Fixture f;
    f.listener.remote_ranges = {*net::Cidr::parse("10.0.0.0/8")};
    f.q.rcpts = {"bob@example.test"};
    ExplainAnswer a = explain(f.q);
    EXPECT_FALSE(a.all_accepted);
    EXPECT_NE(a.text.find("554 5.7.1"), std::string::npos) << a.text;
    EXPECT_EQ(a.text.find("RCPT TO"), std::string::npos) << a.text;
}

TEST(Explain, SyntaxErrorsAreShownAsTheSessionWouldReply) {
    Fixture f;
    f.q.rcpts = {"u@outside.test."};
    ExplainAnswer a = explain(f.q);
    EXPECT_NE(a.text.find("=> 501 5.1.3"), std::string::npos) << a.text;
    EXPECT_FALSE(a.all_accepted);
}

TEST(Explain, ServerPrincipalRelays) {
    Fixture f;
    config::SendConnector c;
    c.name = "out";
    c.address_spaces = {"*"};
    f.connectors = {c};
    f.q.facts.principal = {Principal::Kind::Server, "hub1", {}, {}, false};
    f.q.rcpts = {"x@outside.test"};
    ExplainAnswer a = explain(f.q);
    EXPECT_TRUE(a.all_accepted) << a.text;
    EXPECT_NE(a.text.find("[decided by principal.server]"), std::string::npos) << a.text;
}
