// Unit tests for console/tracking_page: the search fields, the results (refusals with rule and reason).
#include "console/tracking_page.hpp"

#include <gtest/gtest.h>

namespace rampart::console {
namespace {

TEST(TrackingPage, SearchFromFields) {
    TrackingSearch s = tracking_search_from({}, 0);
    EXPECT_FALSE(s.any);
    s = tracking_search_from({{"recipient", "x@example.com"}, {"status", "refused"}, {"since", "1h"}}, 10'000'000);
    EXPECT_TRUE(s.any);
    EXPECT_TRUE(s.error.empty());
    EXPECT_EQ(s.query.recipient, "x@example.com");
    EXPECT_EQ(s.query.status, tracking::Refused);
    EXPECT_EQ(*s.query.since_ms, 10'000'000 - 3'600'000);
    EXPECT_NE(tracking_search_from({{"status", "lost"}}, 0).error.find("status"), std::string::npos);
    EXPECT_NE(tracking_search_from({{"until", "yesterday"}}, 0).error.find("until"), std::string::npos);
}

TEST(TrackingPage, RefusalNamesRuleAndReasonEscaped) {
    tracking::Message m;
    m.tracking_id = "T1";
    m.status = tracking::Refused;
    tracking::Event e;
    e.ts_ms = 1764608400000;
    e.event = "smtp.rcpt.refused";
    e.rcpts = "<x>@example.com";
    e.rule = "relay.domains";
    e.code = 554;
    e.status = "5.7.1";
    e.reason = "relaying denied";
    m.events.push_back(e);
    std::string html = tracking_results_html({m});
    EXPECT_NE(html.find("Refused by rule relay.domains"), std::string::npos) << html;
    EXPECT_NE(html.find("554 5.7.1 relaying denied"), std::string::npos);
    EXPECT_NE(html.find("&lt;x&gt;@example.com"), std::string::npos);
    EXPECT_NE(tracking_results_html({}).find("No message matches"), std::string::npos);
}

}  // namespace
}  // namespace rampart::console
