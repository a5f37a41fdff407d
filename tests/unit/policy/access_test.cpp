#include "policy/access.hpp"

#include <gtest/gtest.h>

#include "config/roles.hpp"

using namespace rampart;
using namespace rampart::policy;

namespace {

smtp::Path path(const std::string& text) {
    auto r = smtp::parse_path(text, smtp::PathKind::Forward, true, nullptr);
    EXPECT_TRUE(std::holds_alternative<smtp::Path>(r)) << text;
    return std::get<smtp::Path>(r);
}

class AccessTest : public ::testing::Test {
protected:
    AccessTest() {
        listener = config::preset_listener(config::Role::AllInOne);
        listener.name = "default";
        listener.relay.list = {*net::Cidr::parse("192.0.2.10/32")};
        domains = {{"example.test", config::DomainType::Authoritative}};
        config::SendConnector c;
        c.name = "out";
        c.address_spaces = {"*"};
        connectors = {c};
        facts.listener = &listener;
        facts.domains = &domains;
        facts.connectors = &connectors;
        facts.client = *net::IpAddress::parse("203.0.113.5");
    }
    Decision rcpt(const std::string& to, Trace* t = nullptr) { return check_rcpt(facts, path("<s@outside.test>"), path(to), t); }

    config::Listener listener;
    std::vector<config::Domain> domains;
    std::vector<config::SendConnector> connectors;
    SessionFacts facts;
};

}  // namespace

TEST_F(AccessTest, SubmitToAcceptedDomain) {
    Decision d = rcpt("<alice@EXAMPLE.test>");
    EXPECT_EQ(d.verdict, Verdict::Accept);
    EXPECT_EQ(d.rule, "domains");
}

TEST_F(AccessTest, AnonymousRelayIsDenied) {
    Trace t;
    Decision d = rcpt("<u@outside.test>", &t);
    EXPECT_EQ(d.verdict, Verdict::Refuse);
    EXPECT_EQ(d.reply.code, 550);
    EXPECT_EQ(d.reply.enhanced, "5.7.1");
    EXPECT_EQ(d.reply.text, "relaying denied");
    EXPECT_EQ(t.steps.back().rule, "relay");
    EXPECT_GE(t.steps.size(), 6u);
}

TEST_F(AccessTest, RelayListAdmitsListedClient) {
    facts.client = *net::IpAddress::parse("192.0.2.10");
    Decision d = rcpt("<u@outside.test>");
    EXPECT_EQ(d.verdict, Verdict::Accept);
    EXPECT_EQ(d.rule, "relay.list");
    connectors.clear();
    d = rcpt("<u@outside.test>");
    EXPECT_EQ(d.verdict, Verdict::Refuse);
    EXPECT_EQ(d.reply.enhanced, "5.4.4");
}

class RelayTricks : public AccessTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(RelayTricks, NeverBecomeAcceptedRelay) {
    Decision d = rcpt(GetParam());
    EXPECT_EQ(d.verdict, Verdict::Refuse) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Battery, RelayTricks,
                         ::testing::Values("<u%outside.test@example.test>", "<outside.test!u@example.test>",
                                           "<\"u@outside.test\"@example.test>", "<\"u%outside.test\"@example.test>",
                                           "<@example.test:u@outside.test>", "<u@[192.0.2.1]>", "<u@[127.0.0.1]>",
                                           "<u@EXAMPLE.test.outside.test>", "<u@example.tes>"));

TEST_F(AccessTest, AuthenticatedUserNeedsAGrantToRelay) {
    facts.principal = Principal{Principal::Kind::User, "bob", {"staff"}, {}, false};
    EXPECT_EQ(rcpt("<u@outside.test>").verdict, Verdict::Refuse);
    listener.permissions.relay = {"group:staff"};
    EXPECT_EQ(rcpt("<u@outside.test>").rule, "permissions.relay");
    listener.permissions.relay.clear();
    listener.relay.allow_authenticated = true;
    EXPECT_EQ(rcpt("<u@outside.test>").rule, "relay.allow_authenticated");
}

TEST_F(AccessTest, ServersMayRelay) {
    facts.principal = Principal{Principal::Kind::Server, "hub1", {}, {}, false};
    EXPECT_EQ(rcpt("<u@outside.test>").rule, "principal.server");
}

TEST_F(AccessTest, AllExceptListInvertsTheList) {
    listener.relay.mode = config::RelayMode::AllExceptList;
    EXPECT_EQ(rcpt("<u@outside.test>").verdict, Verdict::Accept);
    facts.client = *net::IpAddress::parse("192.0.2.10");
    EXPECT_EQ(rcpt("<u@outside.test>").verdict, Verdict::Refuse);
}

TEST_F(AccessTest, AnonymousMailNeedsAnonymousAccess) {
    EXPECT_EQ(check_mail(facts, path("<s@outside.test>")).verdict, Verdict::Accept);
    listener.auth.anonymous = false;
    Decision d = check_mail(facts, path("<s@outside.test>"));
    EXPECT_EQ(d.reply.code, 530);
}

TEST_F(AccessTest, EmptySubmitListMeansServersOnly) {
    listener.auth.anonymous = false;
    facts.principal = Principal{Principal::Kind::User, "bob", {}, {}, false};
    EXPECT_EQ(check_mail(facts, path("<s@outside.test>")).verdict, Verdict::Refuse);
    facts.principal = Principal{Principal::Kind::Server, "edge1", {}, {}, false};
    EXPECT_EQ(check_mail(facts, path("<s@outside.test>")).verdict, Verdict::Accept);
}

TEST_F(AccessTest, RemoteRanges) {
    listener.remote_ranges = {*net::Cidr::parse("10.0.0.0/8")};
    Decision d = check_connection(facts);
    EXPECT_EQ(d.verdict, Verdict::Refuse);
    EXPECT_EQ(d.reply.code, 554);
    facts.client = *net::IpAddress::parse("10.1.1.1");
    EXPECT_NE(check_connection(facts).verdict, Verdict::Refuse);
}

TEST_F(AccessTest, UnknownRecipientInCoveredAuthoritativeDomainIs511) {
    auto dir = std::make_shared<directory::Directory>();
    dir->users.push_back({"alice", {"alice@example.test"}, {}, "", false, {}, {}});
    dir->aliases.push_back({"sales@example.test", {"user:alice"}});
    facts.directory = dir;
    Trace t;
    Decision d = rcpt("<carol@example.test>", &t);
    EXPECT_EQ(d.verdict, Verdict::Refuse);
    EXPECT_EQ(d.rule, "recipient.known");
    EXPECT_EQ(d.reply.code, 550);
    EXPECT_EQ(d.reply.enhanced, "5.1.1");
    EXPECT_EQ(t.steps.back().rule, "recipient.known");
    EXPECT_EQ(rcpt("<ALICE@Example.test>").verdict, Verdict::Accept);
    EXPECT_EQ(rcpt("<sales@example.test>").verdict, Verdict::Accept);
    // RFC 5321 §4.5.1: postmaster is always accepted, with or without a domain.
    EXPECT_EQ(rcpt("<PostMaster@example.test>").verdict, Verdict::Accept);
    EXPECT_EQ(rcpt("<Postmaster>").verdict, Verdict::Accept);
}

TEST_F(AccessTest, QuotedLocalPartsAreLookedUpAsTheMailboxTheyName) {
    auto dir = std::make_shared<directory::Directory>();
    dir->users.push_back({"alice", {"alice@example.test"}, {}, "", false, {}, {}});
    dir->aliases.push_back({"sales@example.test", {"user:alice"}});
    dir->aliases.push_back({"loop@example.test", {"loop@example.test"}});
    facts.directory = dir;
    EXPECT_EQ(rcpt("<\"alice\"@example.test>").verdict, Verdict::Accept);
    EXPECT_EQ(rcpt("<\"sa\\les\"@example.test>").verdict, Verdict::Accept);
    EXPECT_EQ(rcpt("<\"carol\"@example.test>").reply.enhanced, "5.1.1");
    // delivery would refuse an alias that expands to nothing: so does RCPT
    Decision d = rcpt("<loop@example.test>");
    EXPECT_EQ(d.verdict, Verdict::Refuse);
    EXPECT_EQ(d.reply.enhanced, "5.4.6");
}

TEST_F(AccessTest, DirectoryWithoutEntriesForTheDomainAcceptsEveryLocalPart) {
    auto dir = std::make_shared<directory::Directory>();
    dir->users.push_back({"alice", {"alice@elsewhere.test"}, {}, "", false, {}, {}});
    facts.directory = dir;
    Trace t;
    EXPECT_EQ(rcpt("<carol@example.test>", &t).verdict, Verdict::Accept);
    bool noted = false;
    for (const auto& s : t.steps)
        if (s.rule == "recipient.known") noted = s.decision.note.find("holds no address in example.test") != std::string::npos;
    EXPECT_TRUE(noted);
}
