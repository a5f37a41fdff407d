// Unit tests for console/explain_page: the form's fields, the trace table, escaping.
#include "console/explain_page.hpp"

#include <gtest/gtest.h>

namespace rampart::console {
namespace {

TEST(ExplainPage, RequestFromFields) {
    FormFields f{{"listener", " internet "}, {"client", "192.0.2.7"}, {"user", ""}, {"sender", "a@example.org"},
                 {"rcpts", "x@example.com\r\n\r\n  y@example.com  \n"}, {"smtputf8", "1"}};
    ExplainRequest r = explain_request_from(f);
    EXPECT_EQ(r.listener, "internet");
    EXPECT_EQ(r.client, "192.0.2.7");
    EXPECT_EQ(r.sender, "a@example.org");
    EXPECT_EQ(r.rcpts, (std::vector<std::string>{"x@example.com", "y@example.com"}));
    EXPECT_TRUE(r.smtputf8);
    EXPECT_FALSE(r.tls);
}

TEST(ExplainPage, FormSelectsTheListenerAndEscapes) {
    ExplainRequest r;
    r.listener = "b";
    r.sender = "\"><script>";
    std::string html = explain_form_html({"a", "b"}, r);
    EXPECT_NE(html.find("<option value=\"b\" selected>"), std::string::npos);
    EXPECT_EQ(html.find("<script>"), std::string::npos);
    EXPECT_NE(html.find("&quot;&gt;&lt;script&gt;"), std::string::npos);
}

TEST(ExplainPage, TraceAsTableWithTheDecision) {
    ExplainResult res;
    policy::ExplainAnswer a;
    a.text = "listener internet, client 192.0.2.1\n\nconnection\n  connection.limits  pass    0 of 100 <b>\n"
             "RCPT TO:<x@example.com>\n  relay.domains      refuse  not ours\n  => 554 5.7.1 relaying denied   [decided by relay.domains]\n";
    a.replies.push_back({"RCPT <x@example.com>", smtp::Reply(554, "5.7.1", "relaying denied"), "relay.domains"});
    res.answer = a;
    std::string html = explain_result_html(res);
    EXPECT_NE(html.find("<tr><td>relay.domains</td><td>refuse</td><td>not ours</td></tr>"), std::string::npos) << html;
    EXPECT_NE(html.find("<td>554</td><td>5.7.1</td><td>relaying denied</td><td>relay.domains</td>"), std::string::npos) << html;
    EXPECT_NE(html.find("0 of 100 &lt;b&gt;"), std::string::npos);
    EXPECT_NE(html.find("would be refused"), std::string::npos);
    EXPECT_NE(html.find("<th colspan=\"3\">RCPT TO:&lt;x@example.com&gt;</th>"), std::string::npos);
}

TEST(ExplainPage, ErrorShownEscaped) {
    ExplainResult res;
    res.error = "--listener: no listener named \"<x>\"";
    std::string html = explain_result_html(res);
    EXPECT_NE(html.find("no listener named &quot;&lt;x&gt;&quot;"), std::string::npos);
    EXPECT_EQ(html.find("Every rule"), std::string::npos);
}

}  // namespace
}  // namespace rampart::console
