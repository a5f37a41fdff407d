// Sender reputation: the level formula, decay, each signal, HELO forgery, the exemptions,
// the LRU bound and the block through the dynamic block list.
#include "filter/reputation.hpp"

#include <gtest/gtest.h>

#include "filter/block_list.hpp"

using namespace rampart;
using namespace rampart::filter;
using namespace std::chrono_literals;

namespace {
net::IpAddress ip(const char* s) { return *net::IpAddress::parse(s); }
policy::Principal anonymous() { return {}; }
policy::Principal user() { return {policy::Principal::Kind::User, "alice", {}, {}, false}; }
policy::Principal server() { return {policy::Principal::Kind::Server, "hub1", {}, {}, false}; }

struct Fixture {
    Reputation::Clock::time_point now{std::chrono::hours(1000)};
    BlockList blocks;   // memory only
    config::ReputationSettings settings;
    std::unique_ptr<Reputation> rep;
    explicit Fixture(std::vector<net::Cidr> allow = {}) { make(std::move(allow)); }
    void make(std::vector<net::Cidr> allow = {}) {
        rep = std::make_unique<Reputation>(settings, std::move(allow), &blocks, [this] { return now; });
    }
};
}  // namespace

TEST(ReputationFormula, WeightsAndCap) {
    ReputationCounts c;
    EXPECT_EQ(reputation_level(c), 0);
    add_signal(c, Signal::HeloForgery);
    EXPECT_EQ(reputation_level(c), 3);
    add_signal(c, Signal::Pregreet);
    EXPECT_EQ(reputation_level(c), 7);
    add_signal(c, Signal::Pipelining);
    EXPECT_EQ(reputation_level(c), 9);   // 10 points, capped at 9
    ReputationCounts r;
    add_signal(r, Signal::RefusedRecipient);
    EXPECT_EQ(reputation_level(r), 0);   // half a point
    add_signal(r, Signal::RefusedRecipient);
    EXPECT_EQ(reputation_level(r), 1);
}

TEST(ReputationFormula, SclAddsAboveFourAndHamTakesAway) {
    ReputationCounts c;
    add_signal(c, Signal::Scl, 4);
    EXPECT_EQ(c.scl_points, 0);
    add_signal(c, Signal::Scl, 9);
    EXPECT_EQ(c.scl_points, 5);
    add_signal(c, Signal::Scl, 6);
    EXPECT_EQ(c.scl_points, 7);
    EXPECT_EQ(reputation_level(c), 7);
    add_signal(c, Signal::Scl, 1);   // a clean message
    EXPECT_EQ(c.scl_points, 6);
    ReputationCounts clean;
    add_signal(clean, Signal::Scl, 0);
    EXPECT_EQ(clean.scl_points, 0);   // never below zero
    add_signal(clean, Signal::Scl, -1);   // a safe sender: no opinion
    EXPECT_EQ(clean.scl_points, 0);
}

TEST(ReputationFormula, DecayHalvesPerHalfLife) {
    ReputationCounts c;
    add_signal(c, Signal::Pregreet);
    add_signal(c, Signal::Pregreet);   // 8 points
    ReputationCounts d = decay(c, 1h, 1h);
    EXPECT_DOUBLE_EQ(d.pregreet, 1.0);
    EXPECT_EQ(reputation_level(d), 4);
    EXPECT_EQ(reputation_level(decay(c, 4h, 1h)), 0);   // 0.5 points
    EXPECT_EQ(describe(c), "pregreet 2");
}

TEST(HeloForgery, ClaimsOurNameOurDomainOrAnotherAddress) {
    std::vector<config::Domain> domains{{"example.test", config::DomainType::Authoritative}};
    net::IpAddress client = ip("192.0.2.7");
    EXPECT_TRUE(helo_forgery("mx.example.test", client, "mx.example.test", domains));
    EXPECT_TRUE(helo_forgery("MX.Example.Test.", client, "mx.example.test", domains));
    EXPECT_TRUE(helo_forgery("example.test", client, "mx.example.test", domains));
    EXPECT_TRUE(helo_forgery("[192.0.2.8]", client, "mx.example.test", domains));
    EXPECT_TRUE(helo_forgery("198.51.100.1", client, "mx.example.test", domains));
    EXPECT_TRUE(helo_forgery("[IPv6:2001:db8::1]", client, "mx.example.test", domains));
    EXPECT_FALSE(helo_forgery("[192.0.2.7]", client, "mx.example.test", domains));
    EXPECT_FALSE(helo_forgery("[192.0.2.7]", ip("::ffff:192.0.2.7"), "mx.example.test", domains));
    EXPECT_FALSE(helo_forgery("mail.outside.test", client, "mx.example.test", domains));
    EXPECT_FALSE(helo_forgery("sub.example.test", client, "mx.example.test", domains));
    EXPECT_FALSE(helo_forgery("", client, "mx.example.test", domains));
}

TEST(Reputation, EachSignalCountsAndBlocksAtTheThreshold) {
    Fixture f;
    net::IpAddress a = ip("192.0.2.7");
    EXPECT_EQ(f.rep->note(a, anonymous(), Signal::HeloForgery), 3);
    EXPECT_FALSE(f.blocks.find(a));
    EXPECT_EQ(f.rep->note(a, anonymous(), Signal::Pipelining), 6);
    EXPECT_FALSE(f.blocks.find(a));
    EXPECT_EQ(f.rep->note(a, anonymous(), Signal::Pregreet), 9);
    auto e = f.blocks.find(a);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->source, "reputation");
    EXPECT_EQ(e->prefix.text(), "192.0.2.7/32");
    EXPECT_EQ(e->reason.rfind("reputation level 9: ", 0), 0u) << e->reason;
    ASSERT_TRUE(e->expires);
    auto left = *e->expires - std::chrono::system_clock::now();
    EXPECT_GT(left, 23h);
    EXPECT_LE(left, 24h);
    EXPECT_FALSE(f.blocks.find(ip("192.0.2.8")));   // only that address
}

TEST(Reputation, RefusedRecipientsAndSpamAddUp) {
    Fixture f;
    net::IpAddress a = ip("2001:db8::5");
    for (int i = 0; i < 6; ++i) f.rep->note(a, anonymous(), Signal::RefusedRecipient);
    EXPECT_EQ(reputation_level(*f.rep->counts(a)), 3);
    f.rep->note(a, anonymous(), Signal::Scl, 8);   // +4
    auto e = f.blocks.find(a);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->prefix.text(), "2001:db8::5/128");
}

TEST(Reputation, DecayLetsAnAddressRecover) {
    Fixture f;
    net::IpAddress a = ip("192.0.2.7");
    f.rep->note(a, anonymous(), Signal::HeloForgery);
    f.rep->note(a, anonymous(), Signal::HeloForgery);   // 6
    f.now += 2h;                                         // 1.5
    EXPECT_EQ(f.rep->note(a, anonymous(), Signal::HeloForgery), 4);
    EXPECT_FALSE(f.blocks.find(a));
}

TEST(Reputation, NeverForAuthenticatedServersOrAllowedAddresses) {
    Fixture f({*net::Cidr::parse("198.51.100.0/24")});
    for (int i = 0; i < 5; ++i) {
        EXPECT_FALSE(f.rep->note(ip("192.0.2.1"), user(), Signal::Pregreet));
        EXPECT_FALSE(f.rep->note(ip("192.0.2.2"), server(), Signal::Pregreet));
        EXPECT_FALSE(f.rep->note(ip("198.51.100.9"), anonymous(), Signal::Pregreet));
    }
    EXPECT_EQ(f.rep->size(), 0u);
    EXPECT_TRUE(f.blocks.entries().empty());
}

TEST(Reputation, OffOrBlockAtZero) {
    Fixture f;
    f.settings.enabled = false;
    f.make();
    EXPECT_FALSE(f.rep->note(ip("192.0.2.1"), anonymous(), Signal::Pregreet));
    f.settings.enabled = true;
    f.settings.block_at = 0;   // levels only
    f.make();
    for (int i = 0; i < 3; ++i) f.rep->note(ip("192.0.2.1"), anonymous(), Signal::Pregreet);
    EXPECT_EQ(reputation_level(*f.rep->counts(ip("192.0.2.1"))), 9);
    EXPECT_TRUE(f.blocks.entries().empty());
}

TEST(Reputation, BoundedLeastRecentlySeenGoesFirst) {
    Fixture f;
    f.settings.max_clients = 16;
    f.make();
    for (int i = 0; i < 16; ++i) f.rep->note(ip(("192.0.2." + std::to_string(i)).c_str()), anonymous(), Signal::RefusedRecipient);
    f.rep->note(ip("192.0.2.0"), anonymous(), Signal::RefusedRecipient);   // seen again: most recent
    f.rep->note(ip("192.0.2.100"), anonymous(), Signal::RefusedRecipient);
    EXPECT_EQ(f.rep->size(), 16u);
    EXPECT_TRUE(f.rep->counts(ip("192.0.2.0")));
    EXPECT_FALSE(f.rep->counts(ip("192.0.2.1")));   // the least recently seen
    EXPECT_TRUE(f.rep->counts(ip("192.0.2.100")));
}

TEST(ReputationFormula, SecondsOfDecayDoNotCostALevel) {
    ReputationCounts c;
    add_signal(c, Signal::HeloForgery);
    c = decay(c, 1s, 1h);   // 2.9994 points
    add_signal(c, Signal::Pregreet);
    EXPECT_EQ(reputation_level(c), 7);
    EXPECT_EQ(reputation_level(decay(c, 1h, 1h)), 3);   // 3.5
}
