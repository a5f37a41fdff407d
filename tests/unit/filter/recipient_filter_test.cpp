// The recipient filter: block list (addresses, domains, *.domain), unknown recipients of
// authoritative domains refused 550 5.1.1, the tarpit set on every refusal, waited by the
// chain (not by explain), skipped for authenticated principals.
#include "filter/recipient_filter.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "directory/directory.hpp"
#include "filter/chain.hpp"

using namespace rampart;
using filter::Stage;
using Kind = filter::AgentVerdict::Kind;
using namespace std::chrono_literals;

namespace {

config::RecipientFilterSettings settings(std::vector<std::string> block, bool lookup = true,
                                         std::chrono::milliseconds tarpit = 5s) {
    config::RecipientFilterSettings s;
    s.block = std::move(block);
    s.lookup = lookup;
    s.tarpit = tarpit;
    s.configured = true;
    return s;
}

std::vector<config::Domain> domains() {
    return {{"example.test", config::DomainType::Authoritative}, {"relay.test", config::DomainType::InternalRelay}};
}

directory::Directory dir() {
    directory::Directory d;
    d.users.push_back(directory::User{"alice", {"alice@example.test"}, {}, "", false, {}, ""});
    d.users.push_back(directory::User{"ceo", {"ceo@example.test"}, {}, "", false, {}, ""});
    return d;
}

smtp::Path path(const char* address) {
    smtp::PathResult r = smtp::parse_path(std::string("<") + address + ">", smtp::PathKind::Forward, true, nullptr);
    return std::get<smtp::Path>(r);
}

}  // namespace

TEST(RecipientFilter, UnknownRecipientOfAnAuthoritativeDomainIsRefusedWithTheTarpit) {
    filter::RecipientFilter f(settings({}), domains());
    auto d = dir();
    auto v = f.judge(path("nobody@example.test"), &d);
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.reply.summary(), "550 5.1.1 no such recipient here");
    EXPECT_EQ(v.rule, "recipient_filter.lookup");
    EXPECT_EQ(v.delay, 5s);
    auto known = f.judge(path("Alice@Example.Test"), &d);
    EXPECT_EQ(known.kind, Kind::Continue);
    EXPECT_EQ(known.delay, 0ms);
    EXPECT_EQ(f.judge(path("nobody@relay.test"), &d).kind, Kind::Continue);    // not authoritative
    EXPECT_EQ(f.judge(path("nobody@else.test"), &d).kind, Kind::Continue);     // not ours
    EXPECT_EQ(f.judge(path("nobody@example.test"), nullptr).kind, Kind::Continue);   // no directory: catch-all
    EXPECT_EQ(f.judge(path("Postmaster"), &d).kind, Kind::Continue);
}

TEST(RecipientFilter, LookupOff) {
    filter::RecipientFilter f(settings({}, false), domains());
    auto d = dir();
    EXPECT_EQ(f.judge(path("nobody@example.test"), &d).kind, Kind::Continue);
}

TEST(RecipientFilter, BlockListReadsLikeAnUnknownRecipient) {
    filter::RecipientFilter f(settings({"ceo@example.test", "*.spamtrap.test"}, true, 2s), domains());
    auto d = dir();
    auto v = f.judge(path("CEO@example.test"), &d);
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.reply.summary(), "550 5.1.1 no such recipient here");
    EXPECT_EQ(v.rule, "recipient_filter.block");
    EXPECT_EQ(v.delay, 2s);
    EXPECT_EQ(f.judge(path("x@a.spamtrap.test"), &d).kind, Kind::Refuse);
    EXPECT_EQ(f.judge(path("x@spamtrap.test"), &d).kind, Kind::Continue);
    EXPECT_EQ(f.judge(path("alice@example.test"), &d).kind, Kind::Continue);
}

TEST(RecipientFilter, BoundToRcptOnly) {
    filter::RecipientFilter f(settings({}), domains());
    EXPECT_TRUE(f.bound_to(Stage::RcptTo));
    EXPECT_FALSE(f.bound_to(Stage::MailFrom));
    EXPECT_FALSE(f.bound_to(Stage::EndOfData));
    EXPECT_EQ(f.agent_class(), filter::AgentClass::AntiSpam);
    EXPECT_FALSE(f.network());
}

namespace {
struct Ran {
    filter::ChainResult result;
    std::vector<filter::StepNote> notes;
};
Ran run_chain(std::chrono::milliseconds tarpit, bool skip_delays, policy::Principal principal = {}) {
    std::vector<std::unique_ptr<filter::Agent>> agents;
    agents.push_back(std::make_unique<filter::RecipientFilter>(settings({}, true, tarpit), domains()));
    filter::Chain chain(std::move(agents));
    filter::ChainRun r(chain, filter::SessionInfo{"internet", *net::IpAddress::parse("192.0.2.9"), false, principal});
    if (skip_delays) r.skip_delays();
    auto d = dir();
    smtp::Path sender = path("x@remote.test");
    smtp::Path rcpt = path("nobody@example.test");
    filter::MessageView view;
    view.sender = &sender;
    view.rcpt = &rcpt;
    view.directory = &d;
    Ran out;
    asio::io_context io;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { out.result = co_await r.run(Stage::RcptTo, view, &out.notes); }, asio::detached);
    io.run();
    return out;
}
}  // namespace

TEST(RecipientFilter, TheChainWaitsTheTarpitOnATimerUnlessTold) {
    // A one-hour tarpit would hang this test if skip_delays() were not honoured.
    auto ran = run_chain(1h, true);
    EXPECT_EQ(ran.result.kind, Kind::Refuse);
    EXPECT_EQ(ran.result.reply.summary(), "550 5.1.1 no such recipient here");
    ASSERT_EQ(ran.notes.size(), 1u);
    EXPECT_EQ(ran.notes[0].delay, 1h);
    EXPECT_FALSE(ran.notes[0].waited);
    auto waited = run_chain(1ms, false);
    EXPECT_EQ(waited.result.kind, Kind::Refuse);
    ASSERT_EQ(waited.notes.size(), 1u);
    EXPECT_TRUE(waited.notes[0].waited);
}

TEST(RecipientFilter, SkippedForAuthenticatedPrincipals) {
    policy::Principal server{policy::Principal::Kind::Server, "hub", {}, {}, false};
    auto ran = run_chain(1h, false, server);
    EXPECT_EQ(ran.result.kind, Kind::Continue);
    ASSERT_EQ(ran.notes.size(), 1u);
    EXPECT_FALSE(ran.notes[0].evaluated);
}
