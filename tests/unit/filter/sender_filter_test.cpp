// The sender filter: addresses, domains, *.domain subdomains, the null sender, reject or
// stamp (a header added at end of data, an incoming forged one removed), skipped for
// authenticated principals.
#include "filter/sender_filter.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "filter/chain.hpp"

using namespace rampart;
using filter::Stage;
using Kind = filter::AgentVerdict::Kind;

namespace {

config::SenderFilterSettings settings(std::vector<std::string> block, bool blank = false,
                                      config::SenderFilterAction action = config::SenderFilterAction::Reject) {
    config::SenderFilterSettings s;
    s.block = std::move(block);
    s.block_blank_sender = blank;
    s.action = action;
    s.configured = true;
    return s;
}

smtp::Path path(const char* address) {
    smtp::PathResult r = smtp::parse_path(std::string("<") + address + ">", smtp::PathKind::Reverse, true, nullptr);
    return std::get<smtp::Path>(r);
}

filter::ChainResult run(filter::ChainRun& r, Stage stage, const filter::MessageView& view) {
    filter::ChainResult out;
    asio::io_context io;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await r.run(stage, view); }, asio::detached);
    io.run();
    return out;
}

filter::Chain chain_of(config::SenderFilterSettings s) {
    std::vector<std::unique_ptr<filter::Agent>> v;
    v.push_back(std::make_unique<filter::SenderFilter>(std::move(s)));
    return filter::Chain(std::move(v));
}

}  // namespace

TEST(SenderFilter, BlockedAddressDomainAndSubdomains) {
    filter::SenderFilter f(settings({"spammer@bad.test", "worse.test", "*.sub.test"}));
    auto v = f.judge(path("spammer@bad.test"));
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.reply.summary(), "554 5.7.1 sender refused by the sender filter");
    EXPECT_EQ(v.rule, "sender_filter.block");
    EXPECT_EQ(v.reason, "spammer@bad.test matches \"spammer@bad.test\"");
    EXPECT_EQ(f.judge(path("SPAMMER@Bad.Test")).kind, Kind::Refuse);       // case-insensitive
    EXPECT_EQ(f.judge(path("\"spammer\"@bad.test")).kind, Kind::Refuse);   // quoting irrelevant
    EXPECT_EQ(f.judge(path("friend@bad.test")).kind, Kind::Continue);
    EXPECT_EQ(f.judge(path("anyone@worse.test")).kind, Kind::Refuse);
    EXPECT_EQ(f.judge(path("anyone@mx.worse.test")).kind, Kind::Continue);   // a domain entry is that domain only
    EXPECT_EQ(f.judge(path("a@mx.sub.test")).kind, Kind::Refuse);
    EXPECT_EQ(f.judge(path("a@deep.mx.SUB.test")).kind, Kind::Refuse);
    EXPECT_EQ(f.judge(path("a@sub.test")).kind, Kind::Continue);      // *.domain: not the domain itself
    EXPECT_EQ(f.judge(path("a@notsub.test")).kind, Kind::Continue);   // a label boundary, not a suffix
}

TEST(SenderFilter, BlankSenderOnlyWhenConfigured) {
    smtp::Path null_sender;
    null_sender.null = true;
    EXPECT_EQ(filter::SenderFilter(settings({"bad.test"})).judge(null_sender).kind, Kind::Continue);
    auto v = filter::SenderFilter(settings({}, true)).judge(null_sender);
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.rule, "sender_filter.block_blank_sender");
}

TEST(SenderFilter, BoundToMailAndEndOfDataOnly) {
    filter::SenderFilter f(settings({}));
    EXPECT_TRUE(f.bound_to(Stage::MailFrom));
    EXPECT_TRUE(f.bound_to(Stage::EndOfData));
    EXPECT_FALSE(f.bound_to(Stage::RcptTo));
    EXPECT_FALSE(f.bound_to(Stage::Connect));
    EXPECT_FALSE(f.network());
    EXPECT_EQ(f.agent_class(), filter::AgentClass::AntiSpam);
}

TEST(SenderFilter, StampAcceptsAndAddsTheHeaderAndRemovesAForgedOne) {
    auto chain = chain_of(settings({"*.bad.test"}, false, config::SenderFilterAction::Stamp));
    filter::ChainRun r(chain, filter::SessionInfo{"internet", *net::IpAddress::parse("192.0.2.9"), false, {}});
    smtp::Path sender = path("x@mx.bad.test");
    filter::MessageView mail;
    mail.sender = &sender;
    EXPECT_EQ(run(r, Stage::MailFrom, mail).kind, Kind::Continue);   // stamped, not refused
    std::string message = "X-Rampart-Sender-Filter: clean (forged)\r\nSubject: hi\r\n\r\nbody\r\n";
    filter::MessageView data;
    data.sender = &sender;
    data.message = message;
    auto out = run(r, Stage::EndOfData, data);
    ASSERT_TRUE(out.message);
    EXPECT_EQ(*out.message, "X-Rampart-Sender-Filter: blocked (sender_filter.block)\r\nSubject: hi\r\n\r\nbody\r\n");
    // The next transaction from a clean sender: the forged header goes, nothing is added.
    r.end_transaction();
    smtp::Path clean = path("x@good.test");
    mail.sender = &clean;
    EXPECT_EQ(run(r, Stage::MailFrom, mail).kind, Kind::Continue);
    data.sender = &clean;
    out = run(r, Stage::EndOfData, data);
    ASSERT_TRUE(out.message);
    EXPECT_EQ(*out.message, "Subject: hi\r\n\r\nbody\r\n");
    // A message without the field and without a stamp is left as it is (no rewrite).
    std::string plain = "Subject: hi\r\nX-Other: x-rampart-sender-filter: in a value\r\n\r\nX-Rampart-Sender-Filter: in the body\r\n";
    data.message = plain;
    EXPECT_FALSE(run(r, Stage::EndOfData, data).message);
    std::string folded = "Subject: hi\r\nx-rampart-sender-filter: lower case\r\n  continued\r\n\r\nbody\r\n";
    data.message = folded;
    out = run(r, Stage::EndOfData, data);
    ASSERT_TRUE(out.message);
    EXPECT_EQ(*out.message, "Subject: hi\r\n\r\nbody\r\n");
}

TEST(SenderFilter, RejectRefusesInTheChain) {
    auto chain = chain_of(settings({"bad.test"}));
    filter::ChainRun r(chain, filter::SessionInfo{"internet", *net::IpAddress::parse("192.0.2.9"), false, {}});
    smtp::Path sender = path("x@bad.test");
    filter::MessageView mail;
    mail.sender = &sender;
    auto out = run(r, Stage::MailFrom, mail);
    EXPECT_EQ(out.kind, Kind::Refuse);
    EXPECT_EQ(out.reply.code, 554);
    EXPECT_EQ(out.agent, "sender_filter");
}

TEST(SenderFilter, SkippedForAuthenticatedPrincipals) {
    auto chain = chain_of(settings({"bad.test"}));
    policy::Principal user{policy::Principal::Kind::User, "alice", {}, {}, false};
    filter::ChainRun r(chain, filter::SessionInfo{"submission", *net::IpAddress::parse("192.0.2.9"), true, user});
    smtp::Path sender = path("x@bad.test");
    filter::MessageView mail;
    mail.sender = &sender;
    EXPECT_EQ(run(r, Stage::MailFrom, mail).kind, Kind::Continue);
}
