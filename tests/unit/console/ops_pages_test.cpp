// Unit tests for console/ops_pages: paging (bounded tables), ages, queue id check.
#include "console/ops_pages.hpp"

#include <gtest/gtest.h>

namespace rampart::console {
namespace {

TEST(Paging, SlicesAndClamps) {
    Paging p = paginate(120, std::nullopt, 50);
    EXPECT_EQ(p.first, 0u);
    EXPECT_EQ(p.count, 50u);
    EXPECT_EQ(p.pages, 3u);
    p = paginate(120, "3", 50);
    EXPECT_EQ(p.first, 100u);
    EXPECT_EQ(p.count, 20u);
    p = paginate(120, "99", 50);   // past the end: the last page
    EXPECT_EQ(p.page, 3u);
    EXPECT_EQ(p.count, 20u);
    for (std::string_view bad : {"0", "-1", "x", "2x", ""}) {
        p = paginate(120, bad, 50);
        EXPECT_EQ(p.page, 1u) << bad;
    }
    p = paginate(0, "2", 50);
    EXPECT_EQ(p.count, 0u);
    EXPECT_EQ(p.pages, 1u);
}

TEST(Paging, PagerKeepsFiltersEscaped) {
    Paging p = paginate(120, "2", 50);
    std::string html = pager_html(p, "/console/queue", "sender=a%26b");
    EXPECT_NE(html.find("/console/queue?sender=a%26b&amp;page=1"), std::string::npos) << html;
    EXPECT_NE(html.find("page=3"), std::string::npos);
    EXPECT_EQ(pager_html(paginate(10, std::nullopt, 50), "/x", ""), "");
}

TEST(OpsPages, QueueIdsAreOneWordAndNoOption) {
    EXPECT_TRUE(plausible_queue_id("1A2B3C4D.x_y-z"));
    EXPECT_FALSE(plausible_queue_id("--all"));
    EXPECT_FALSE(plausible_queue_id("a b"));
    EXPECT_FALSE(plausible_queue_id("a\nb"));
    EXPECT_FALSE(plausible_queue_id(""));
    EXPECT_FALSE(plausible_queue_id("../x"));
}

TEST(OpsPages, AgeAndTrackingLink) {
    EXPECT_EQ(age_text(-5), "0s");
    EXPECT_EQ(age_text(90), "90s");
    EXPECT_EQ(age_text(600), "10m");
    EXPECT_EQ(age_text(3 * 86400), "3d");
    EXPECT_EQ(tracking_link("a&b"), "<a href=\"/console/tracking?id=a%26b\">tracking</a>");
}

}  // namespace
}  // namespace rampart::console
