// The content filter agent: thresholds in Exchange's order, the stamp read and written,
// incoming stamps removed for everyone but organisation servers, every recipient safe →
// no scan, rspamd unreachable → 451 4.7.1 (or accepted with on_error = "accept").
#include "filter/content_filter.hpp"
#include "replication/replica.hpp"
#include "replication/signing.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include "directory/directory.hpp"
#include "filter/chain.hpp"

using namespace rampart;
using filter::Stage;
using Kind = filter::AgentVerdict::Kind;

namespace {

config::ContentFilterSettings settings(int reject_at, int quarantine_at, int delete_at, std::uint16_t port = 1,
                                       config::OnEngineError on_error = config::OnEngineError::Tempfail) {
    config::ContentFilterSettings s;
    s.reject_at = reject_at;
    s.quarantine_at = quarantine_at;
    s.delete_at = delete_at;
    s.address = {"127.0.0.1", port};
    s.on_error = on_error;
    s.timeout = std::chrono::seconds(5);
    s.configured = true;
    return s;
}

// A port nobody listens on: bind one, note it, close it.
std::uint16_t dead_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

struct Outcome {
    filter::ChainResult result;
    std::string message;   // as it leaves the chain
};

Outcome run(config::ContentFilterSettings s, policy::Principal::Kind who, std::string message,
            const directory::Directory* dir = nullptr, std::vector<std::string> rcpts = {"alice@example.test"},
            const replication::LiveReplica* replica = nullptr) {
    std::vector<std::unique_ptr<filter::Agent>> v;
    v.push_back(std::make_unique<filter::ContentFilter>(std::move(s), "mx.example.test", replica));
    filter::Chain chain(std::move(v));
    filter::SessionInfo session;
    session.listener = "smtp";
    session.client = *net::IpAddress::parse("192.0.2.7");
    session.principal.kind = who;
    session.principal.name = who == policy::Principal::Kind::Anonymous ? "" : "peer";
    filter::ChainRun r(chain, session, false);
    smtp::Path sender = std::get<smtp::Path>(smtp::parse_path("<boss@partner.test>", smtp::PathKind::Reverse, true, nullptr));
    filter::MessageView view;
    view.helo = "client.partner.test";
    view.sender = &sender;
    view.recipients = rcpts;
    view.message = message;
    view.directory = dir;
    Outcome out;
    asio::io_context io;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { out.result = co_await r.run(Stage::EndOfData, view); }, asio::detached);
    io.run();
    out.message = out.result.message ? *out.result.message : message;
    return out;
}

const std::string kForged = "X-Rampart-SCL: 0\r\nFrom: a@partner.test\r\nx-rampart-scl:-1\r\nSubject: hi\r\n\r\nbody X-Rampart-SCL: 0\r\n";

}  // namespace

TEST(ContentFilter, ThresholdsInExchangeOrder) {
    filter::ContentFilter all(settings(7, 5, 9), "mx");
    EXPECT_EQ(all.judge(9, false).kind, Kind::Discard);
    EXPECT_EQ(all.judge(9, false).rule, "content_filter.delete_at");
    auto r = all.judge(7, false);
    EXPECT_EQ(r.kind, Kind::Refuse);
    EXPECT_EQ(r.reply.summary(), "550 5.7.1 message refused as spam (SCL 7)");
    EXPECT_EQ(r.rule, "content_filter.reject_at");
    EXPECT_EQ(all.judge(6, false).kind, Kind::Quarantine);
    EXPECT_EQ(all.judge(5, false).rule, "content_filter.quarantine_at");
    EXPECT_EQ(all.judge(4, false).kind, Kind::Continue);
    EXPECT_EQ(all.judge(-1, false).kind, Kind::Continue);
    // A trusted stamp is never refused (the server already accepted it), but deleted or held.
    EXPECT_EQ(all.judge(8, true).kind, Kind::Quarantine);
    EXPECT_EQ(all.judge(9, true).kind, Kind::Discard);
    // 0 is off.
    filter::ContentFilter off(settings(0, 0, 0), "mx");
    EXPECT_EQ(off.judge(9, false).kind, Kind::Continue);
}

TEST(ContentFilter, ReadsTheStamp) {
    EXPECT_EQ(filter::ContentFilter::read_stamp("X-Rampart-SCL: 5\r\n\r\nbody"), 5);
    EXPECT_EQ(filter::ContentFilter::read_stamp("Subject: x\r\nx-rampart-scl:-1\r\n\r\n"), -1);
    EXPECT_EQ(filter::ContentFilter::read_stamp("X-Rampart-SCL: 10\r\n\r\n"), std::nullopt);
    EXPECT_EQ(filter::ContentFilter::read_stamp("X-Rampart-SCL: high\r\n\r\n"), std::nullopt);
    EXPECT_EQ(filter::ContentFilter::read_stamp("Subject: x\r\n\r\nX-Rampart-SCL: 3\r\n"), std::nullopt);   // in the body
    EXPECT_TRUE(filter::ContentFilter::has_stamp("X-Rampart-SCL: junk\r\n\r\n"));
    EXPECT_FALSE(filter::ContentFilter::has_stamp("X-Rampart-SCL-Other: 1\r\n\r\n"));
}

TEST(ContentFilter, IncomingStampsAreRemovedExceptFromOrganisationServers) {
    using PK = policy::Principal::Kind;
    // Anonymous, engine none: removed, not stamped again.
    auto s = settings(7, 0, 0);
    s.engine = config::ContentEngine::None;
    auto anon = run(s, PK::Anonymous, kForged);
    EXPECT_EQ(anon.result.kind, Kind::Continue);
    EXPECT_EQ(anon.message, "From: a@partner.test\r\nSubject: hi\r\n\r\nbody X-Rampart-SCL: 0\r\n");
    // An authenticated user: not scanned (no rspamd listens on port 1), stamp removed.
    auto user = run(settings(7, 0, 0, dead_port()), PK::User, kForged);
    EXPECT_EQ(user.result.kind, Kind::Continue);
    EXPECT_EQ(user.message.find("X-Rampart-SCL: 0\r\nFrom"), std::string::npos);
    EXPECT_EQ(filter::ContentFilter::has_stamp(user.message), false);
    // An organisation server: kept, and judged.
    auto server = run(settings(7, 0, 0, dead_port()), PK::Server, kForged);
    EXPECT_EQ(server.result.kind, Kind::Continue);
    EXPECT_EQ(server.message, kForged);
    auto held = run(settings(7, 5, 0, dead_port()), PK::Server, "X-Rampart-SCL: 6\r\n\r\nx\r\n");
    EXPECT_EQ(held.result.kind, Kind::Quarantine);
}

TEST(ContentFilter, RspamdUnreachableFailsClosedUnlessAccept) {
    using PK = policy::Principal::Kind;
    auto closed = run(settings(7, 0, 0, dead_port()), PK::Anonymous, kForged);
    EXPECT_EQ(closed.result.kind, Kind::Tempfail);
    EXPECT_EQ(closed.result.reply.summary(), "451 4.7.1 spam check unavailable; try again later");
    EXPECT_EQ(closed.result.rule, "content_filter.on_error");
    auto open = run(settings(7, 0, 0, dead_port(), config::OnEngineError::Accept), PK::Anonymous, kForged);
    EXPECT_EQ(open.result.kind, Kind::Continue);
    EXPECT_FALSE(filter::ContentFilter::has_stamp(open.message)) << open.message;   // forged one gone, none added
}

TEST(ContentFilter, EverySafeListingRecipientSkipsRspamd) {
    using PK = policy::Principal::Kind;
    directory::Directory d;
    d.users.push_back({"alice", {"alice@example.test"}, {}, "", false, {}, {}});
    d.users.push_back({"bob", {"bob@example.test"}, {}, "", false, {}, {}});
    d.safe_senders["alice"] = {"partner.test"};
    // rspamd would be unreachable: a 451 would show that it was asked.
    auto safe = run(settings(7, 0, 0, dead_port()), PK::Anonymous, kForged, &d);
    EXPECT_EQ(safe.result.kind, Kind::Continue);
    EXPECT_EQ(filter::ContentFilter::read_stamp(safe.message), -1);
    EXPECT_EQ(safe.message, "X-Rampart-SCL: -1\r\nFrom: a@partner.test\r\nSubject: hi\r\n\r\nbody X-Rampart-SCL: 0\r\n");
    // bob does not list the sender: rspamd is asked.
    auto mixed = run(settings(7, 0, 0, dead_port()), PK::Anonymous, kForged, &d, {"alice@example.test", "bob@example.test"});
    EXPECT_EQ(mixed.result.kind, Kind::Tempfail);
}

// On an edge the safe lists come from the hub as keyed hashes (replication/content.cpp):
// the same skip, asked of the replica; the edge has no directory of its own.
TEST(ContentFilter, ReplicatedSafeListsSkipRspamdOnTheEdge) {
    using PK = policy::Principal::Kind;
    const std::string key(32, '\x07');
    std::string hex;
    for (unsigned char c : key) hex += "0123456789abcdef"[c >> 4], hex += "0123456789abcdef"[c & 15];
    auto r = std::make_shared<replication::Replica>();
    r->recipients.serial = 1;
    r->recipients.entries = {"orgkey " + hex,
                             "rcpt " + replication::recipient_hash(key, "alice@example.test"),
                             "rcpt " + replication::recipient_hash(key, "bob@example.test"),
                             "safe " + replication::recipient_hash(key, "alice@example.test") + " " +
                                 replication::safe_sender_hash(key, "Partner.TEST")};
    replication::LiveReplica live;
    live.set(r);
    auto safe = run(settings(7, 0, 0, dead_port()), PK::Anonymous, kForged, nullptr, {"alice@example.test"}, &live);
    EXPECT_EQ(safe.result.kind, Kind::Continue);
    EXPECT_EQ(filter::ContentFilter::read_stamp(safe.message), -1);
    // bob lists nobody: rspamd is asked (unreachable here: 451).
    auto mixed = run(settings(7, 0, 0, dead_port()), PK::Anonymous, kForged, nullptr, {"alice@example.test", "bob@example.test"}, &live);
    EXPECT_EQ(mixed.result.kind, Kind::Tempfail);
    // Without the replica, alice's list is not known either.
    auto none = run(settings(7, 0, 0, dead_port()), PK::Anonymous, kForged, nullptr, {"alice@example.test"});
    EXPECT_EQ(none.result.kind, Kind::Tempfail);
}
