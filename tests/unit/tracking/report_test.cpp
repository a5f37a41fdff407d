#include "tracking/report.hpp"

#include <chrono>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tracking/recorder.hpp"
#include "tracking/tracking_id.hpp"

using namespace rampart::tracking;

TEST(TrackingTime, Rfc3339AndRelative) {
    EXPECT_EQ(parse_time("1970-01-01T00:00:01Z", 0), 1000);
    EXPECT_EQ(parse_time("1970-01-01T01:00:01.5+01:00", 0), 1500);
    EXPECT_EQ(parse_time("2026-12-01T17:00:00Z", 0), 1796144400000);
    EXPECT_EQ(parse_time("2026-12-01", 0), 1796083200000);
    EXPECT_EQ(parse_time("1h", 10'000'000), 10'000'000 - 3'600'000);
    EXPECT_EQ(parse_time("2d", 200'000'000), 200'000'000 - 172'800'000);
    EXPECT_FALSE(parse_time("yesterday", 0));
    EXPECT_FALSE(parse_time("2026-12-01T17:00:00", 0));   // no offset
    EXPECT_FALSE(parse_time("2026-13-01T17:00:00Z", 0));
    EXPECT_EQ(format_time(1796144400123), "2026-12-01T17:00:00.123Z");
}

TEST(TrackingReport, RefusedMailSaysWhoAndWhy) {
    Message m;
    m.tracking_id = "abc12345";
    m.status = Refused;
    Event e;
    e.ts_ms = 0;
    e.event = "smtp.rcpt.refused";
    e.rule = "relay.list";
    e.code = 550;
    e.reason = "relaying denied\x1b[31m";
    e.rcpts = "x@elsewhere.test";
    m.events.push_back(e);
    std::string text = render_text({m});
    EXPECT_NE(text.find("refused by rule relay.list: 550 relaying denied"), std::string::npos) << text;
    EXPECT_NE(text.find("RCPT refused"), std::string::npos) << text;
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << "a peer's control characters reach the terminal";
    Event d;
    d.event = "delivery.attempt";
    d.result = "failed";
    d.code = 550;
    d.reason = "550 5.1.1 no such user";
    EXPECT_EQ(render_text({Message{"t", Bounced, {d}}}).find("550 550"), std::string::npos);
    d.result = "delivered";
    d.extra = "report";
    EXPECT_EQ(event_label(d), "DSN delivery delivered");
    std::string json = render_json({m});
    EXPECT_NE(json.find("\"refused_by\""), std::string::npos);
    EXPECT_NE(json.find("\"rule\": \"relay.list\""), std::string::npos) << json;
}

TEST(TrackingRecorder, LogFieldsBecomeColumns) {
    auto e = to_event("smtp.rcpt.refused",
                      {{"listener", "inbound"}, {"client", "192.0.2.1"}, {"from", "a@b.test"}, {"to", "c@d.test"},
                       {"rule", "relay.list"}, {"code", 550}, {"reason", "relaying denied"}, {"tracking_id", "t123456789"}},
                      42);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->ts_ms, 42);
    EXPECT_EQ(e->rcpts, "c@d.test");
    EXPECT_EQ(e->sender, "a@b.test");
    EXPECT_EQ(e->code, 550);
    EXPECT_EQ(e->tracking_id, "t123456789");
    EXPECT_FALSE(to_event("smtp.auth", {{"tracking_id", "x"}}, 0));   // not tracked
    EXPECT_FALSE(to_event("filter.verdict", {{"verdict", "continue"}, {"tracking_id", "t1"}}, 0));
    EXPECT_TRUE(to_event("filter.verdict", {{"verdict", "refuse"}, {"tracking_id", "t1"}}, 0));
    EXPECT_FALSE(to_event("smtp.transaction", {{"qid", "-"}}, 0));   // nothing to file it under
}

// Ids lead with the time (the store's indexes append at their right edge) and stay unique
// within one millisecond; the pool of random bytes is refilled without repeating itself.
TEST(TrackingId, NewIdsGrowWithTimeAndNeverRepeat) {
    std::set<std::string> seen;
    std::string prev;
    for (int i = 0; i < 5000; ++i) {
        std::string id = new_tracking_id();
        ASSERT_EQ(id.size(), kNewIdLength);
        ASSERT_TRUE(seen.insert(id).second) << id;
        if (!prev.empty()) {
            EXPECT_LE(prev.substr(0, 11), id.substr(0, 11));
        }
        prev = id;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_LE(std::stoll(prev.substr(0, 11), nullptr, 16), ms);
    EXPECT_GT(std::stoll(prev.substr(0, 11), nullptr, 16), ms - 60000);
}

TEST(TrackingId, HeaderReadAndValidated) {
    std::string id = new_tracking_id();
    EXPECT_EQ(id.size(), kNewIdLength);
    EXPECT_TRUE(valid_tracking_id(id));
    EXPECT_NE(id, new_tracking_id());
    EXPECT_FALSE(valid_tracking_id("short"));
    EXPECT_FALSE(valid_tracking_id("has space 12345"));
    EXPECT_FALSE(valid_tracking_id(std::string(65, 'a')));
    std::string msg = "Subject: x\r\nx-rampart-tracking-id:  edge-1234567\r\n\r\nX-Rampart-Tracking-Id: body\r\n";
    EXPECT_EQ(read_header(msg), "edge-1234567");
    EXPECT_FALSE(read_header("Subject: x\r\n\r\nX-Rampart-Tracking-Id: in-the-body\r\n"));
    EXPECT_EQ(header_line("abc"), "X-Rampart-Tracking-Id: abc\r\n");
}
