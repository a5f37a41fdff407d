// Unit tests for console/queue_page: filters, the tables (escaped, one checkbox per
// message, the allowed actions only).
#include "console/queue_page.hpp"

#include <gtest/gtest.h>

namespace rampart::console {
namespace {

queue::MessageInfo message(std::string id, std::string state, std::string sender, std::vector<std::string> rcpts) {
    queue::MessageInfo m;
    m.state = std::move(state);
    m.envelope.id = std::move(id);
    m.envelope.sender = std::move(sender);
    m.envelope.received_at = 1000;
    for (auto& r : rcpts) {
        queue::Recipient rc;
        rc.address = std::move(r);
        m.envelope.recipients.push_back(std::move(rc));
    }
    return m;
}

TEST(QueuePage, FiltersByStateSenderRecipient) {
    auto m = message("A1", "held", "Alice@Example.org", {"bob@example.com", "carol@example.net"});
    EXPECT_TRUE(queue_matches(m, {}));
    EXPECT_TRUE(queue_matches(m, {"held", "alice@", "CAROL"}));
    EXPECT_FALSE(queue_matches(m, {"deferred", "", ""}));
    EXPECT_FALSE(queue_matches(m, {"", "mallory", ""}));
    EXPECT_FALSE(queue_matches(m, {"", "", "dave@"}));
}

TEST(QueuePage, TableEscapesPeerTextAndCarriesCsrf) {
    auto m = message("A1", "deferred", "<script>@x", {"r@example.com"});
    m.envelope.attempts = 3;
    m.envelope.recipients[0].last = {queue::Outcome::Deferred, 451, "4.4.1", "no <answer>", "192.0.2.9:25"};
    Viewer v{"admin", "tok"};
    std::string html = queue_table_html({&m}, v, 1090, false);
    EXPECT_EQ(html.find("<script>"), std::string::npos);
    EXPECT_NE(html.find("451 4.4.1 no &lt;answer&gt;"), std::string::npos) << html;
    EXPECT_NE(html.find("name=\"csrf\" value=\"tok\""), std::string::npos);
    EXPECT_NE(html.find("<input type=\"checkbox\" name=\"id\" value=\"A1\">"), std::string::npos);
    EXPECT_NE(html.find("value=\"bounce\""), std::string::npos);
    EXPECT_NE(html.find("method=\"post\""), std::string::npos);
    EXPECT_NE(html.find("/console/tracking?id=A1"), std::string::npos);
    EXPECT_NE(html.find("<td>90s</td>"), std::string::npos);
}

TEST(QueuePage, QuarantineTableShowsWhyAndOnlyReleaseDelete) {
    auto m = message("Q1", "quarantined", "a@x", {"r@example.com"});
    m.envelope.quarantine = "virus: EICAR <test>";
    std::string html = queue_table_html({&m}, Viewer{"admin", "t"}, 1000, true);
    EXPECT_NE(html.find("virus: EICAR &lt;test&gt;"), std::string::npos);
    EXPECT_NE(html.find("/console/quarantine/action"), std::string::npos);
    EXPECT_EQ(html.find("value=\"hold\""), std::string::npos);
    EXPECT_TRUE(queue_action_allowed("release", true));
    EXPECT_FALSE(queue_action_allowed("bounce", true));
    EXPECT_TRUE(queue_action_allowed("bounce", false));
    EXPECT_FALSE(queue_action_allowed("list", false));
}

TEST(QueuePage, MessagePageShowsHeadersEscaped) {
    auto m = message("A1", "held", "a@x", {"r@example.com"});
    std::string html = queue_message_html(m, "Subject: <b>hi</b>\r\n", Viewer{"admin", "t"}, 2000);
    EXPECT_NE(html.find("Subject: &lt;b&gt;hi&lt;/b&gt;"), std::string::npos);
    EXPECT_NE(html.find("<td>r@example.com</td><td>pending</td>"), std::string::npos) << html;
}

}  // namespace
}  // namespace rampart::console
