#include "config/toml_nesting.hpp"

#include <string>

#include <gtest/gtest.h>

#include "config/load.hpp"

using namespace rampart::config;

namespace {
std::string dotted(std::size_t segments) {
    std::string k = "k";
    for (std::size_t i = 1; i < segments; ++i) k += ".k";
    return k;
}
}  // namespace

TEST(TomlNesting, OrdinaryFilesPass) {
    EXPECT_FALSE(find_excessive_nesting(default_config_text()));
    EXPECT_FALSE(find_excessive_nesting(R"([server]
role = "edge"   # [[[[ in a comment
[[listeners]]
name = "a]]]]"
limits = { max_message_size = "35MiB", nested = { a.b = [1.5, [2, [3]], { c = '[[[' }] } }
text = """
[[[[[[[[ {{{{{{{{
"""
lit = '''
]]]] [[[[ '''
)"));
}

TEST(TomlNesting, TheLimitIsInclusive) {
    EXPECT_FALSE(find_excessive_nesting(dotted(64) + " = 1\n"));
    EXPECT_TRUE(find_excessive_nesting(dotted(65) + " = 1\n"));
    EXPECT_FALSE(find_excessive_nesting("x = " + std::string(64, '[') + std::string(64, ']') + "\n"));
    EXPECT_TRUE(find_excessive_nesting("x = " + std::string(65, '[') + std::string(65, ']') + "\n"));
    EXPECT_FALSE(find_excessive_nesting("[" + dotted(64) + "]\n"));
    EXPECT_TRUE(find_excessive_nesting("[" + dotted(65) + "]\n"));
}

// Levels add up: a header, a dotted key, an inline table and arrays inside it.
TEST(TomlNesting, LevelsOfDifferentKindsAddUp) {
    std::string header = "[" + dotted(30) + "]\n";
    EXPECT_FALSE(find_excessive_nesting(header + dotted(34) + " = 1\n"));
    EXPECT_FALSE(find_excessive_nesting(header + "\n" + dotted(20) + " = { " + dotted(14) + " = 1 }\n"));
    auto deep = find_excessive_nesting(header + "\n" + dotted(20) + " = { " + dotted(15) + " = 1 }\n");
    ASSERT_TRUE(deep);
    EXPECT_EQ(deep->line, 3);
    // A new header starts again from its own depth.
    EXPECT_FALSE(find_excessive_nesting(header + dotted(30) + " = 1\n[a]\n" + dotted(60) + " = 1\n"));
}

TEST(TomlNesting, BracketsInStringsAndCommentsDoNotCount) {
    std::string many(10000, '[');
    EXPECT_FALSE(find_excessive_nesting("a = \"" + many + "\"\nb = '" + many + "'\n# " + many + "\nc = \"\"\"\n" + many +
                                        "\n\"\"\"\nd = \"\\\"" + many + "\"\n"));
}

TEST(TomlNesting, ReportsTheLine) {
    auto deep = find_excessive_nesting("a = 1\nb = \"\"\"\nx\ny\n\"\"\"\n" + dotted(100) + " = 2\n");
    ASSERT_TRUE(deep);
    EXPECT_EQ(deep->line, 6);
    EXPECT_EQ(deep->limit, kMaxTomlNesting);
}
