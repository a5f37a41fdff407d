// Parses the report's MIME structure (boundary, parts, field groups) independently of
// the builder.
#include "queue/dsn.hpp"

#include <map>

#include <gtest/gtest.h>

using namespace rampart;
using namespace rampart::queue;

namespace {

Envelope original() {
    Envelope e;
    e.id = "Q1";
    e.received_at = 1700000000;
    e.helo = "client.test";
    e.client = "192.0.2.7";
    e.sender = "alice@example.test";
    e.envid = "QQ+2B1";
    e.recipients = {{"bob@outside.test", 0, "rfc822;Bob+2Bx@outside.test", false, {}, {}},
                    {"carol@outside.test", smtp::notify::Failure, "", false, {}, {}}};
    return e;
}

const std::string kMessage = "Received: from client.test\r\nSubject: hi\r\nFrom: alice@example.test\r\n\r\nsecret body\r\n";

std::vector<std::string> split(const std::string& s, const std::string& sep) {
    std::vector<std::string> out;
    std::size_t p = 0;
    while (true) {
        std::size_t n = s.find(sep, p);
        out.push_back(s.substr(p, n == std::string::npos ? std::string::npos : n - p));
        if (n == std::string::npos) return out;
        p = n + sep.size();
    }
}

// Unfolded "Name: value" lines of a header block.
std::multimap<std::string, std::string> fields(const std::string& block) {
    std::multimap<std::string, std::string> out;
    std::string last;
    for (const std::string& line : split(block, "\r\n")) {
        if (line.empty()) continue;
        if (line[0] == ' ' || line[0] == '\t') {
            auto it = out.find(last);
            for (auto i = out.begin(); i != out.end(); ++i)
                if (i->first == last) it = i;
            if (it != out.end()) it->second += line;
            continue;
        }
        std::size_t c = line.find(':');
        if (c == std::string::npos) continue;
        last = line.substr(0, c);
        out.emplace(last, line.substr(c + 2));
    }
    return out;
}

struct Parsed {
    std::multimap<std::string, std::string> top;
    std::vector<std::string> parts;   // each: headers CRLF CRLF body
};

Parsed parse(const std::string& text) {
    Parsed p;
    std::size_t hend = text.find("\r\n\r\n");
    p.top = fields(text.substr(0, hend + 2));
    std::string ct = p.top.find("Content-Type")->second;
    std::size_t b = ct.find("boundary=\"");
    std::string boundary = ct.substr(b + 10, ct.find('"', b + 10) - b - 10);
    auto chunks = split(text.substr(hend + 4), "--" + boundary);
    EXPECT_GE(chunks.size(), 3u);
    EXPECT_EQ(chunks.back().substr(0, 2), "--");   // closing delimiter
    for (std::size_t i = 1; i + 1 < chunks.size(); ++i) p.parts.push_back(chunks[i].substr(2));   // after CRLF
    return p;
}

DsnRequest request(DsnAction a, std::vector<std::size_t> idx) {
    DsnRequest r;
    r.reporting_mta = "mx.example.test";
    r.now = 1700000100;
    r.will_retry_until = 1700400000;
    r.unique = "U1";
    for (std::size_t i : idx)
        r.recipients.push_back({i, a, AttemptResult{a == DsnAction::Failed ? Outcome::Failed : Outcome::Deferred,
                                                    a == DsnAction::Failed ? 550 : 451,
                                                    a == DsnAction::Failed ? "5.1.1" : "4.4.1", "no such user",
                                                    "192.0.2.1:25"}});
    return r;
}

}  // namespace

TEST(Dsn, FailureReportHasTheThreeRfc3464Parts) {
    Dsn d = build_dsn(request(DsnAction::Failed, {0}), original(), kMessage);
    EXPECT_FALSE(d.eight_bit);
    Parsed p = parse(d.text);
    EXPECT_EQ(p.top.find("To")->second, "<alice@example.test>");
    EXPECT_NE(p.top.find("Content-Type")->second.find("multipart/report; report-type=delivery-status"), std::string::npos);
    ASSERT_EQ(p.parts.size(), 3u);
    EXPECT_EQ(p.parts[0].rfind("Content-Type: text/plain", 0), 0u);
    EXPECT_EQ(p.parts[1].rfind("Content-Type: message/delivery-status\r\n\r\n", 0), 0u);
    EXPECT_EQ(p.parts[2].rfind("Content-Type: text/rfc822-headers\r\n\r\n", 0), 0u);
    // RET absent: headers only, never the body.
    EXPECT_NE(p.parts[2].find("Subject: hi"), std::string::npos);
    EXPECT_EQ(d.text.find("secret body"), std::string::npos);

    auto groups = split(p.parts[1].substr(p.parts[1].find("\r\n\r\n") + 4), "\r\n\r\n");
    auto msg = fields(groups[0]);
    EXPECT_EQ(msg.find("Reporting-MTA")->second, "dns; mx.example.test");
    EXPECT_EQ(msg.find("Original-Envelope-Id")->second, "QQ+1");
    EXPECT_EQ(msg.find("Arrival-Date")->second, "Tue, 14 Nov 2023 22:13:20 +0000");
    auto rc = fields(groups[1]);
    EXPECT_EQ(rc.find("Original-Recipient")->second, "rfc822;Bob+x@outside.test");
    EXPECT_EQ(rc.find("Final-Recipient")->second, "rfc822; bob@outside.test");
    EXPECT_EQ(rc.find("Action")->second, "failed");
    EXPECT_EQ(rc.find("Status")->second, "5.1.1");
    EXPECT_EQ(rc.find("Remote-MTA")->second, "dns; 192.0.2.1");
    EXPECT_EQ(rc.find("Diagnostic-Code")->second, "smtp; 550 5.1.1 no such user");
}

TEST(Dsn, RetFullReturnsTheWholeMessage) {
    Envelope e = original();
    e.ret = smtp::Ret::Full;
    Parsed p = parse(build_dsn(request(DsnAction::Failed, {0, 1}), e, kMessage).text);
    ASSERT_EQ(p.parts.size(), 3u);
    EXPECT_EQ(p.parts[2].rfind("Content-Type: message/rfc822\r\n\r\n", 0), 0u);
    EXPECT_NE(p.parts[2].find("secret body"), std::string::npos);
    auto groups = split(p.parts[1].substr(p.parts[1].find("\r\n\r\n") + 4), "\r\n\r\n");
    EXPECT_GE(groups.size(), 3u);   // per-message + two recipients
}

TEST(Dsn, DelayReportCarriesHeadersOnlyAndWillRetryUntil) {
    Envelope e = original();
    e.ret = smtp::Ret::Full;
    std::string t = build_dsn(request(DsnAction::Delayed, {0}), e, kMessage).text;
    EXPECT_NE(t.find("Action: delayed\r\n"), std::string::npos);
    EXPECT_NE(t.find("Status: 4.4.1\r\n"), std::string::npos);
    EXPECT_NE(t.find("Will-Retry-Until: "), std::string::npos);
    EXPECT_NE(t.find("text/rfc822-headers"), std::string::npos);
    EXPECT_EQ(t.find("secret body"), std::string::npos);
}

TEST(Dsn, ClientTextCannotInjectHeaderLines) {
    Envelope e = original();
    e.envid = "x+0D+0ABcc:+20evil@outside.test";
    e.recipients[0].orcpt = "rfc822;a+0D+0AX-Evil:+201";
    std::string t = build_dsn(request(DsnAction::Failed, {0}), e, kMessage).text;
    EXPECT_EQ(t.find("\r\nBcc:"), std::string::npos);
    EXPECT_EQ(t.find("\r\nX-Evil:"), std::string::npos);
    EXPECT_NE(t.find("Original-Envelope-Id: x??Bcc: evil@outside.test"), std::string::npos);
}

TEST(Dsn, LongDiagnosticsAreFolded) {
    DsnRequest r = request(DsnAction::Failed, {0});
    r.recipients[0].result.diagnostic = std::string(30, 'a') + " " + std::string(30, 'b') + " " + std::string(30, 'c');
    std::string t = build_dsn(r, original(), kMessage).text;
    for (const std::string& line : split(t, "\r\n")) EXPECT_LE(line.size(), 998u);
    EXPECT_NE(t.find("\r\n " + std::string(30, 'b')), std::string::npos);
}

// A next hop chooses its reply text (up to delivery's 64 KiB cap, one word without spaces
// that cannot be folded, controls): the report stays within RFC 5322's 998 octets a line.
TEST(Dsn, NextHopReplyTextIsBoundedInTheReport) {
    DsnRequest r = request(DsnAction::Failed, {0});
    r.recipients[0].result.diagnostic = std::string(64 * 1024, 'n') + "\r\nX-Evil: 1";
    std::string t = build_dsn(r, original(), kMessage).text;
    for (const std::string& line : split(t, "\r\n")) EXPECT_LE(line.size(), 998u);
    EXPECT_EQ(t.find("\r\nX-Evil:"), std::string::npos);
    EXPECT_LT(t.size(), 16u * 1024);
}

TEST(Dsn, NoRemoteMeansLocalDiagnostic) {
    DsnRequest r = request(DsnAction::Failed, {0});
    r.recipients[0].result = AttemptResult{Outcome::Failed, 0, "5.4.7", "delivery time expired", ""};
    std::string t = build_dsn(r, original(), kMessage).text;
    EXPECT_EQ(t.find("Remote-MTA"), std::string::npos);
    EXPECT_NE(t.find("Diagnostic-Code: X-rampart; delivery time expired"), std::string::npos);
}

TEST(Dsn, NotifyRules) {
    using namespace smtp::notify;
    EXPECT_TRUE(wants_dsn(0, DsnAction::Failed));
    EXPECT_TRUE(wants_dsn(0, DsnAction::Delayed));
    EXPECT_FALSE(wants_dsn(0, DsnAction::Delivered));
    EXPECT_FALSE(wants_dsn(Never, DsnAction::Failed));
    EXPECT_FALSE(wants_dsn(Success, DsnAction::Failed));
    EXPECT_TRUE(wants_dsn(Success, DsnAction::Relayed));
    EXPECT_TRUE(wants_dsn(Failure | Delay, DsnAction::Delayed));
    EXPECT_FALSE(wants_dsn(Failure, DsnAction::Delayed));
}

TEST(Dsn, Rfc5322Date) { EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000"); }

TEST(Dsn, Smtputf8MessagesGetTheGlobalTypes) {
    Envelope e = original();
    e.smtputf8 = true;
    e.recipients[0].address = "jörg@outside.test";
    Dsn d = build_dsn(request(DsnAction::Failed, {0}), e, kMessage);
    EXPECT_TRUE(d.eight_bit);
    Parsed p = parse(d.text);
    ASSERT_EQ(p.parts.size(), 3u);
    EXPECT_EQ(p.parts[1].rfind("Content-Type: message/global-delivery-status\r\n", 0), 0u);
    EXPECT_EQ(p.parts[2].rfind("Content-Type: message/global-headers\r\n", 0), 0u);
    EXPECT_NE(d.text.find("Final-Recipient: utf-8; jörg@outside.test"), std::string::npos);
    // An ASCII-only SMTPUTF8 message keeps the classic types.
    Dsn plain = build_dsn(request(DsnAction::Failed, {1}), original(), kMessage);
    EXPECT_NE(plain.text.find("message/delivery-status"), std::string::npos);
}

namespace {

// "team@example.test" expanded at acceptance to two members (delivery::expand_recipients).
Envelope with_alias() {
    Envelope e = original();
    e.recipients.clear();
    for (const char* m : {"ann@example.test", "bo@remote.test"})
        e.recipients.push_back({m, smtp::notify::Success | smtp::notify::Failure, "rfc822;team@example.test", false, {},
                                "team@example.test"});
    e.recipients.push_back({"dan@outside.test", smtp::notify::Success, "", false, {}, {}});
    return e;
}

}  // namespace

// Issue 14 #10: RFC 3461 §6.2.7.3 — an alias with several members is reported once, as
// "expanded"; its members are not named, nor where or how they were delivered.
TEST(Dsn, AliasSuccessIsOneExpandedBlockNamingNoMember) {
    Envelope e = with_alias();
    e.recipients[0].done = e.recipients[1].done = true;
    e.recipients[0].last = {Outcome::Delivered, 250, "2.0.0", "delivered to the recipient's mailbox", "maildir"};
    e.recipients[1].last = {Outcome::Delivered, 250, "2.0.0", "Ok: queued as X on 10.9.8.7", "smarthost"};
    std::vector<DsnRecipient> notices = success_notices(e, {0, 1});
    ASSERT_EQ(notices.size(), 1u);
    EXPECT_EQ(notices[0].action, DsnAction::Expanded);
    DsnRequest r = request(DsnAction::Expanded, {});
    r.recipients = notices;
    std::string t = build_dsn(r, e, kMessage).text;
    Parsed p = parse(t);
    ASSERT_EQ(p.parts.size(), 3u);
    auto blocks = split(p.parts[1], "\r\n\r\n");
    ASSERT_GE(blocks.size(), 3u);
    auto rc = fields(blocks[2]);
    EXPECT_EQ(rc.find("Final-Recipient")->second, "rfc822; team@example.test");
    EXPECT_EQ(rc.find("Original-Recipient")->second, "rfc822;team@example.test");
    EXPECT_EQ(rc.find("Action")->second, "expanded");
    EXPECT_EQ(rc.find("Status")->second, "2.0.0");
    EXPECT_EQ(rc.count("Remote-MTA"), 0u);
    for (const char* secret : {"ann@", "bo@", "remote.test", "maildir", "mailbox", "10.9.8.7", "queued as"})
        EXPECT_EQ(t.find(secret), std::string::npos) << secret;
    EXPECT_NE(p.parts[0].find("<team@example.test>: expanded"), std::string::npos);
}

TEST(Dsn, AliasIsExpandedOnlyOnceAcrossAttempts) {
    Envelope e = with_alias();
    e.recipients[0].done = true;   // delivered by an earlier attempt: "expanded" was sent then
    e.recipients[1].done = true;
    e.recipients[1].last = {Outcome::Delivered, 250, "2.0.0", "ok", "192.0.2.1:25"};
    EXPECT_TRUE(success_notices(e, {1}).empty());
    // A member that failed earlier does not count as delivered.
    e.recipients[0].last = {Outcome::Failed, 550, "5.1.1", "x", "maildir"};
    auto n = success_notices(e, {1});
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].action, DsnAction::Expanded);
}

TEST(Dsn, SingleMemberAliasReportsItsMembersActionUnderTheAliasName) {
    Envelope e = with_alias();
    e.recipients.erase(e.recipients.begin() + 1);
    e.recipients[0].done = true;
    e.recipients[0].last = {Outcome::Delivered, 250, "2.0.0", "delivered to the recipient's mailbox", "maildir"};
    auto n = success_notices(e, {0});
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].action, DsnAction::Delivered);
    DsnRequest r = request(DsnAction::Delivered, {});
    r.recipients = n;
    std::string t = build_dsn(r, e, kMessage).text;
    EXPECT_NE(t.find("Final-Recipient: rfc822; team@example.test"), std::string::npos);
    EXPECT_EQ(t.find("ann@"), std::string::npos);
}

TEST(Dsn, PlainRecipientsKeepTheirOwnAction) {
    Envelope e = with_alias();
    e.recipients[2].done = true;
    e.recipients[2].last = {Outcome::Delivered, 250, "2.0.0", "ok", "192.0.2.1:25"};
    auto n = success_notices(e, {2});
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].index, 2u);
    EXPECT_EQ(n[0].action, DsnAction::Relayed);
    e.recipients[2].last.remote = "maildir";
    EXPECT_EQ(success_notices(e, {2})[0].action, DsnAction::Delivered);
}

TEST(Dsn, FailedMembersAreReportedAsTheirAliasOnce) {
    Envelope e = with_alias();
    DsnRequest r = request(DsnAction::Failed, {0, 1});
    r.recipients[0].result = {Outcome::Failed, 550, "5.1.1", "<ann@example.test>: no such user", "lmtp"};
    r.recipients[1].result = {Outcome::Failed, 550, "5.2.2", "bo@remote.test mailbox full", "198.51.100.9:25"};
    std::string t = build_dsn(r, e, kMessage).text;
    for (const char* secret : {"ann@", "bo@", "198.51.100.9", "lmtp", "mailbox full"})
        EXPECT_EQ(t.find(secret), std::string::npos) << secret;
    Parsed p = parse(t);
    auto blocks = split(p.parts[1], "\r\n\r\n");
    std::size_t n = 0;
    for (const std::string& b : blocks)
        if (b.find("Final-Recipient: rfc822; team@example.test") != std::string::npos) ++n;
    EXPECT_EQ(n, 1u);
    EXPECT_NE(t.find("Action: failed"), std::string::npos);
    EXPECT_NE(t.find("Status: 5.1.1"), std::string::npos);
}

// Issue 14 #10: our own hops (maildir, LMTP, smart host) are never named in a report.
TEST(Dsn, InternalHopsAreNotNamed) {
    for (const char* hop : {"maildir", "lmtp", "smarthost", "local", "dns"}) {
        DsnRequest r = request(DsnAction::Failed, {0});
        r.recipients[0].result.remote = hop;
        std::string t = build_dsn(r, original(), kMessage).text;
        EXPECT_EQ(t.find("Remote-MTA"), std::string::npos) << hop;
    }
    DsnRequest r = request(DsnAction::Failed, {0});
    r.recipients[0].result.remote = "smarthost";
    EXPECT_NE(build_dsn(r, original(), kMessage).text.find("Diagnostic-Code: smtp; 550 5.1.1 no such user"),
              std::string::npos);
}
