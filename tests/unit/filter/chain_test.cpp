// The chain's contract: order, first refusal wins, quarantine remembered, edits in order,
// fail closed on exceptions and timeouts, anti-spam skipped for authenticated principals,
// network agents not asked offline.
#include "filter/chain.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "filter/scripted_agent.hpp"
#include "util/log.hpp"
#include "util/metric_catalog.hpp"

using namespace rampart;
using filter::AgentVerdict;
using filter::Stage;
using Kind = filter::AgentVerdict::Kind;

namespace {

struct Built {
    filter::Chain chain;
};

filter::ChainResult run(const filter::Chain& chain, Stage stage, filter::MessageView view = {},
                        policy::Principal principal = {}, bool offline = false, std::vector<filter::StepNote>* trace = nullptr) {
    filter::SessionInfo info{"internet", *net::IpAddress::parse("192.0.2.9"), false, principal};
    filter::ChainRun r(chain, info, offline);
    filter::ChainResult out;
    asio::io_context io;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await r.run(stage, view, trace); }, asio::detached);
    io.run();
    return out;
}

filter::Chain chain_of(std::vector<std::unique_ptr<filter::Agent>> agents) { return filter::Chain(std::move(agents)); }

template <class... A>
std::vector<std::unique_ptr<filter::Agent>> agents(A&&... a) {
    std::vector<std::unique_ptr<filter::Agent>> v;
    (v.push_back(std::forward<A>(a)), ...);
    return v;
}

}  // namespace

TEST(Chain, FirstRefusalWinsAndLaterAgentsAreNotAsked) {
    test::Script a, b;
    a.verdicts[Stage::RcptTo] = AgentVerdict::refuse(smtp::Reply(550, "5.7.1", "no"), "x.block", "listed");
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("a", a), std::make_unique<test::ScriptedAgent>("b", b)));
    auto r = run(chain, Stage::RcptTo);
    EXPECT_EQ(r.kind, Kind::Refuse);
    EXPECT_EQ(r.reply.code, 550);
    EXPECT_EQ(r.agent, "a");
    EXPECT_EQ(r.rule, "x.block");
    EXPECT_EQ(b.asked, 0);
}

TEST(Chain, FourHundredRefusalIsTempfail) {
    test::Script a;
    a.verdicts[Stage::MailFrom] = AgentVerdict::refuse(smtp::Reply(451, "4.7.1", "later"), "x", "greylisted");
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("a", a)));
    EXPECT_EQ(run(chain, Stage::MailFrom).kind, Kind::Tempfail);
}

TEST(Chain, QuarantineIsRememberedButALaterRefusalWins) {
    test::Script a, b, c;
    a.verdicts[Stage::EndOfData] = AgentVerdict::quarantine("content_filter.quarantine_at", "SCL 6");
    auto only_q = chain_of(agents(std::make_unique<test::ScriptedAgent>("a", a), std::make_unique<test::ScriptedAgent>("c", c)));
    auto r = run(only_q, Stage::EndOfData);
    EXPECT_EQ(r.kind, Kind::Quarantine);
    EXPECT_EQ(r.agent, "a");
    EXPECT_EQ(c.asked, 1);   // later agents still run after a quarantine
    b.verdicts[Stage::EndOfData] = AgentVerdict::refuse(smtp::Reply(554, "5.7.1", "virus"), "antivirus", "Eicar");
    auto q_then_refuse = chain_of(agents(std::make_unique<test::ScriptedAgent>("a", a), std::make_unique<test::ScriptedAgent>("b", b)));
    r = run(q_then_refuse, Stage::EndOfData);
    EXPECT_EQ(r.kind, Kind::Refuse);
    EXPECT_EQ(r.agent, "b");
}

TEST(Chain, EditsApplyInOrderAndLaterAgentsSeeThem) {
    test::Script a, b;
    AgentVerdict add = AgentVerdict::proceed();
    add.edits.add_headers = {"X-Scanned: yes"};
    add.edits.remove_headers = {"x-spam"};
    a.verdicts[Stage::EndOfData] = add;
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("a", a), std::make_unique<test::ScriptedAgent>("b", b)));
    filter::MessageView v;
    std::string msg = "Subject: hi\r\nX-Spam: yes,\r\n\tfolded\r\nTo: b@example.test\r\n\r\nbody X-Spam: kept\r\n";
    v.message = msg;
    auto r = run(chain, Stage::EndOfData, v);
    ASSERT_TRUE(r.message);
    EXPECT_EQ(*r.message, "X-Scanned: yes\r\nSubject: hi\r\nTo: b@example.test\r\n\r\nbody X-Spam: kept\r\n");
    EXPECT_EQ(b.last_message, *r.message);
}

TEST(Chain, RecipientEditsApplyInOrderAndLaterAgentsSeeThem) {
    test::Script a, b;
    AgentVerdict redirect = AgentVerdict::proceed("transport_rules.redirect", "to the archive");
    redirect.edits.remove_recipients = {"B@Example.test"};
    redirect.edits.add_recipients = {"archive@example.test", "c@example.test"};
    a.verdicts[Stage::EndOfData] = redirect;
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("a", a), std::make_unique<test::ScriptedAgent>("b", b)));
    filter::MessageView v;
    std::string msg = "Subject: hi\r\n\r\nbody\r\n";
    std::vector<std::string> rcpts = {"b@example.test", "c@example.test"};
    v.message = msg;
    v.recipients = rcpts;
    auto r = run(chain, Stage::EndOfData, v);
    ASSERT_TRUE(r.recipients);
    EXPECT_EQ(*r.recipients, (std::vector<std::string>{"c@example.test", "archive@example.test"}));
    EXPECT_EQ(b.last_recipients, *r.recipients);
    EXPECT_FALSE(r.message);   // the message itself was not edited
}

TEST(ApplyRecipientEdits, RemovingEveryoneLeavesNothing) {
    filter::Edits e;
    e.remove_recipients = {"a@x.test", "b@x.test"};
    std::vector<std::string> r = {"A@x.test", "b@X.TEST"};
    filter::apply_recipient_edits(r, e);
    EXPECT_TRUE(r.empty());
}

TEST(Chain, AnExceptionFailsClosedWith451) {
    test::Script a;
    a.throws = true;
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("a", a)));
    auto r = run(chain, Stage::EndOfData);
    EXPECT_EQ(r.kind, Kind::Tempfail);
    EXPECT_EQ(r.reply.summary(), "451 4.3.0 temporary filter failure; try again later");
    EXPECT_NE(r.reason.find("scripted failure"), std::string::npos);
}

TEST(Chain, ATimeoutFailsClosedWith451) {
    test::Script a;
    a.hang = std::chrono::seconds(30);   // the agent's deadline below cuts it short
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("a", a, filter::AgentClass::Hygiene, false,
                                                                       std::chrono::milliseconds(20))));
    auto r = run(chain, Stage::Connect);
    EXPECT_EQ(r.kind, Kind::Tempfail);
    EXPECT_EQ(r.reply.code, 451);
    EXPECT_NE(r.reason.find("no answer within"), std::string::npos);
}

TEST(Chain, AuthenticatedPrincipalsSkipAntiSpamButNotHygiene) {
    test::Script spam, av;
    spam.verdicts[Stage::EndOfData] = AgentVerdict::refuse(smtp::Reply(550, "5.7.1", "spam"), "content_filter", "SCL 9");
    av.verdicts[Stage::EndOfData] = AgentVerdict::refuse(smtp::Reply(554, "5.7.1", "virus"), "antivirus", "Eicar");
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("spam", spam, filter::AgentClass::AntiSpam),
                                 std::make_unique<test::ScriptedAgent>("av", av, filter::AgentClass::Hygiene)));
    policy::Principal user{policy::Principal::Kind::User, "alice", {}, {}, false};
    std::vector<filter::StepNote> trace;
    auto r = run(chain, Stage::EndOfData, {}, user, false, &trace);
    EXPECT_EQ(spam.asked, 0);
    EXPECT_EQ(r.agent, "av");
    ASSERT_EQ(trace.size(), 2u);
    EXPECT_FALSE(trace[0].evaluated);
    // Anonymous: the anti-spam agent decides first.
    r = run(chain, Stage::EndOfData);
    EXPECT_EQ(r.agent, "spam");
}

TEST(Chain, NetworkAgentsAreNotAskedOffline) {
    test::Script dnsbl;
    dnsbl.verdicts[Stage::Connect] = AgentVerdict::refuse(smtp::Reply(550, "5.7.1", "listed"), "x", "listed");
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("dnsbl", dnsbl, filter::AgentClass::AntiSpam, true)));
    std::vector<filter::StepNote> trace;
    auto r = run(chain, Stage::Connect, {}, {}, true, &trace);
    EXPECT_EQ(r.kind, Kind::Continue);
    EXPECT_EQ(dnsbl.asked, 0);
    ASSERT_EQ(trace.size(), 1u);
    EXPECT_NE(trace[0].reason.find("not evaluated offline"), std::string::npos);
    EXPECT_EQ(run(chain, Stage::Connect).kind, Kind::Refuse);   // online: asked
}

TEST(ApplyEdits, MessageWithoutBodyAndReplacement) {
    filter::Edits e;
    e.add_headers = {"X-A: 1"};
    EXPECT_EQ(filter::apply_edits("Subject: x\r\n", e), "X-A: 1\r\nSubject: x\r\n");
    e.replace_message = "Subject: new\r\n\r\nnew body\r\n";
    e.remove_headers = {"subject"};
    EXPECT_EQ(filter::apply_edits("Subject: x\r\n\r\nold\r\n", e), "X-A: 1\r\n\r\nnew body\r\n");
}

TEST(Chain, EndOfDataAgentsSeeTheMessageParsedAfterEdits) {
    test::Script a, b;
    AgentVerdict strip = AgentVerdict::proceed();
    strip.edits.replace_message = "Subject: plain\r\n\r\nno parts left\r\n";
    a.verdicts[Stage::EndOfData] = strip;
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("a", a), std::make_unique<test::ScriptedAgent>("b", b)));
    std::string msg =
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        "--b\r\nContent-Type: application/octet-stream\r\n\r\nMZ\r\n--b--\r\n";
    filter::MessageView v;
    v.message = msg;
    run(chain, Stage::EndOfData, v);
    EXPECT_EQ(a.mime_parts, 3u);   // the multipart and its two parts
    EXPECT_EQ(b.mime_parts, 1u);   // the edited message, parsed again
}

// A verdict with allow_listed (a DNS allow list) makes the rest of the session skip the
// anti-spam agents, never the hygiene agents.
TEST(Chain, AllowListedClientsSkipAntiSpamButNotHygiene) {
    test::Script wl, spam, av;
    AgentVerdict listed = AgentVerdict::proceed("connection_filter.allow_providers", "listed by wl.example.test");
    listed.allow_listed = true;
    wl.verdicts[Stage::Connect] = listed;
    spam.verdicts[Stage::MailFrom] = AgentVerdict::refuse(smtp::Reply(554, "5.7.1", "blocked"), "sender_filter", "blocked");
    av.verdicts[Stage::MailFrom] = AgentVerdict::refuse(smtp::Reply(554, "5.7.1", "virus"), "antivirus", "Eicar");
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("wl", wl, filter::AgentClass::AntiSpam),
                                 std::make_unique<test::ScriptedAgent>("spam", spam, filter::AgentClass::AntiSpam),
                                 std::make_unique<test::ScriptedAgent>("av", av, filter::AgentClass::Hygiene)));
    filter::ChainRun r(chain, filter::SessionInfo{"internet", *net::IpAddress::parse("192.0.2.9"), false, {}});
    std::vector<filter::StepNote> trace;
    filter::ChainResult out;
    asio::io_context io;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await r.run(Stage::Connect, {});
            out = co_await r.run(Stage::MailFrom, {}, &trace);
        },
        asio::detached);
    io.run();
    EXPECT_EQ(out.agent, "av");
    ASSERT_EQ(trace.size(), 3u);
    EXPECT_FALSE(trace[1].evaluated);
    EXPECT_NE(trace[1].reason.find("allow-listed (listed by wl.example.test)"), std::string::npos) << trace[1].reason;
    EXPECT_EQ(wl.asked, 1);   // the allow-listing agent is anti-spam too: not asked again
    EXPECT_EQ(spam.asked, 0);   // skipped from the allow-listing on, later agents at connect too
}

// The smtp.transaction line's filter_us: each agent asked during the transaction, in chain
// order, with its time; an agent the chain never reached is absent; end_transaction()
// starts over.
TEST(Chain, TimeSummaryNamesEachAgentAskedAndStartsOverPerTransaction) {
    test::Script a, b, c;
    b.verdicts[Stage::MailFrom] = AgentVerdict::refuse(smtp::Reply(550, "5.7.1", "no"), "b.block", "listed");
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("a", a), std::make_unique<test::ScriptedAgent>("b", b),
                                 std::make_unique<test::ScriptedAgent>("c", c)));
    filter::SessionInfo info{"internet", *net::IpAddress::parse("192.0.2.9"), false, {}};
    filter::ChainRun r(chain, info);
    EXPECT_EQ(r.time_summary(), "-");
    asio::io_context io;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { co_await r.run(Stage::MailFrom, {}); }, asio::detached);
    io.run();
    std::string s = r.time_summary();
    ASSERT_EQ(s.rfind("a:", 0), 0u) << s;
    auto comma = s.find(",b:");
    ASSERT_NE(comma, std::string::npos) << s;
    EXPECT_EQ(s.find("c:"), std::string::npos) << s;   // never asked: b refused first
    EXPECT_EQ(s.find_first_not_of("0123456789", comma + 3), std::string::npos) << s;
    EXPECT_EQ(s.find_first_not_of("0123456789", 2), comma) << s;
    r.end_transaction();
    EXPECT_EQ(r.time_summary(), "-");
}

TEST(Chain, AnImaginedSessionIsNotObservedInTheAgentTimeMetric) {
    test::Script a;
    auto chain = chain_of(agents(std::make_unique<test::ScriptedAgent>("timed-agent", a)));
    metrics::Histogram& h = metrics::catalog().filter_agent_seconds.with({"timed-agent"});
    const std::uint64_t before = h.cumulative().back();
    run(chain, Stage::MailFrom);
    EXPECT_EQ(h.cumulative().back(), before + 1);
    {
        log::QuietScope quiet;   // what the console's explain runs under
        run(chain, Stage::MailFrom);
    }
    EXPECT_EQ(h.cumulative().back(), before + 1);
    EXPECT_EQ(a.asked, 2);
}
