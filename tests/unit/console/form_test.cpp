// Unit tests for console/form and console/html: decoding forms, escaping values.
#include "console/form.hpp"
#include "console/html.hpp"

#include <gtest/gtest.h>

namespace rampart::console {
namespace {

TEST(Form, DecodesPairsInOrderWithPlusAndPercent) {
    auto f = parse_form("a=1&b=x+y%26z&a=2&&empty=&flag");
    ASSERT_TRUE(f);
    ASSERT_EQ(f->size(), 5u);
    EXPECT_EQ(*form_value(*f, "b"), "x y&z");
    EXPECT_EQ(form_values(*f, "a"), (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(*form_value(*f, "empty"), "");
    EXPECT_EQ(*form_value(*f, "flag"), "");
    EXPECT_FALSE(form_value(*f, "none"));
}

TEST(Form, RefusesBrokenEscapes) {
    EXPECT_FALSE(parse_form("a=%"));
    EXPECT_FALSE(parse_form("a=%4"));
    EXPECT_FALSE(parse_form("a=%zz"));
    EXPECT_FALSE(parse_form("%g1=b"));
    EXPECT_TRUE(parse_form("a=%41"));
}

TEST(Form, EncodeRoundTrips) {
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    auto f = parse_form("v=" + url_encode(all));
    ASSERT_TRUE(f);
    EXPECT_EQ(*form_value(*f, "v"), all);
}

TEST(Html, EscapesEverythingThatCouldOpenMarkup) {
    EXPECT_EQ(escape("<a href=\"x\" onclick='y'>&</a>"), "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
    Viewer v{"<b>", "t\"k"};
    std::string page = layout("T<", "<p>body</p>", v, {{"/console/q", "Q&A"}}, "/console/q");
    EXPECT_NE(page.find("&lt;b&gt;"), std::string::npos);
    EXPECT_EQ(page.find("<b>"), std::string::npos);
    EXPECT_NE(page.find("value=\"t&quot;k\""), std::string::npos);
    EXPECT_NE(page.find("class=\"active\">Q&amp;A"), std::string::npos);
    EXPECT_NE(page.find("<p>body</p>"), std::string::npos);
}

}  // namespace
}  // namespace rampart::console
