#include "util/text.hpp"

#include <set>

#include <gtest/gtest.h>

#include "util/log.hpp"

using rampart::util::display_escape;

TEST(DisplayEscape, PrintableAsciiAndUtf8PassUnchanged) {
    EXPECT_EQ(display_escape("Subject: hello world ~!"), "Subject: hello world ~!");
    EXPECT_EQ(display_escape("J\xC3\xB6rg \xE2\x82\xAC \xF0\x9F\x93\xA7"), "J\xC3\xB6rg \xE2\x82\xAC \xF0\x9F\x93\xA7");
}

TEST(DisplayEscape, ControlsAreEscaped) {
    EXPECT_EQ(display_escape("a\x1b[31mred"), "a\\x1b[31mred");
    EXPECT_EQ(display_escape(std::string("\0\x7f\t\r\n", 5)), "\\x00\\x7f\\t\\r\\n");
    EXPECT_EQ(display_escape("back\\slash"), "back\\\\slash");
}

TEST(DisplayEscape, C1AndBidiControlsAreEscaped) {
    EXPECT_EQ(display_escape("\xC2\x9B" "31m"), "\\u009b31m");          // U+009B CSI
    EXPECT_EQ(display_escape("\xC2\x85"), "\\u0085");
    EXPECT_EQ(display_escape("abc\xE2\x80\xAE" "fdp.exe"), "abc\\u202efdp.exe");   // RLO
    for (const char* s : {"\xE2\x80\xAA", "\xE2\x80\xAB", "\xE2\x80\xAC", "\xE2\x80\xAD", "\xE2\x81\xA6", "\xE2\x81\xA7",
                          "\xE2\x81\xA8", "\xE2\x81\xA9", "\xE2\x80\x8E", "\xE2\x80\x8F", "\xD8\x9C", "\xE2\x80\xA8"})
        EXPECT_EQ(display_escape(s).substr(0, 2), "\\u") << s;
}

TEST(DisplayEscape, IllFormedUtf8IsShownAsBytes) {
    EXPECT_EQ(display_escape("\x9b"), "\\x9b");                          // a raw C1 byte
    EXPECT_EQ(display_escape("\xC0\xAF"), "\\xc0\\xaf");                 // overlong '/'
    EXPECT_EQ(display_escape("\xED\xA0\x80"), "\\xed\\xa0\\x80");        // surrogate
    EXPECT_EQ(display_escape("\xE2\x80"), "\\xe2\\x80");                 // truncated
    EXPECT_EQ(display_escape("\xF4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");   // > U+10FFFF
}

TEST(DisplayEscape, NoRawControlByteSurvivesAnyInput) {
    // Every one- and two-byte input: the output is printable ASCII or well-formed, safe UTF-8.
    std::set<std::string> seen;
    for (int a = 0; a < 256; ++a)
        for (int b = -1; b < 256; ++b) {
            std::string in(1, static_cast<char>(a));
            if (b >= 0) in += static_cast<char>(b);
            std::string out = display_escape(in);
            EXPECT_TRUE(seen.insert(out).second) << "two inputs look alike: " << out;
            std::string_view v = out;
            while (!v.empty()) {
                char32_t cp = 0;
                std::size_t n = rampart::util::utf8_sequence(v, cp);
                ASSERT_GT(n, 0u) << out;
                ASSERT_FALSE(rampart::util::is_unsafe_code_point(cp)) << out;
                v.remove_prefix(n);
            }
        }
}

TEST(LogValue, UsesTheDisplayEscape) {
    using rampart::log::format_value;
    EXPECT_EQ(format_value("plain"), "plain");
    EXPECT_EQ(format_value(""), "\"\"");
    // Printable ASCII (the copy-free path) is escaped as the display escape would.
    EXPECT_EQ(format_value("250 2.0.0 Ok"), "\"250 2.0.0 Ok\"");
    EXPECT_EQ(format_value("a\\b"), "\"a\\\\b\"");
    EXPECT_EQ(format_value("k=\"v\""), "\"k=\\\"v\\\"\"");
    EXPECT_EQ(format_value("a\\b\t"), "\"a\\\\b\\t\"");   // the slow path agrees
    EXPECT_EQ(format_value("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
    EXPECT_EQ(format_value("x\xE2\x80\xAEy"), "\"x\\u202ey\"");
    EXPECT_EQ(format_value("\xC2\x9B" "2J"), "\"\\u009b2J\"");
    EXPECT_EQ(format_value("\x9b"), "\"\\x9b\"");
}

// A peer's 60,000-byte EHLO argument or a next hop's 64 KiB reply in a log value: cut,
// with the count of what was left out (issue 13).
TEST(LogValue, LongPeerValueIsCut) {
    using rampart::log::format_value;
    using rampart::log::kMaxValue;
    std::string peer(60000, 'a');
    std::string v = format_value(peer);
    EXPECT_TRUE(v == "\"" + std::string(kMaxValue, 'a') + "...[" + std::to_string(60000 - kMaxValue) + " more bytes]\"")
        << v.substr(v.size() - 40);
    EXPECT_TRUE(format_value(std::string(kMaxValue, 'b')) == std::string(kMaxValue, 'b'));   // exactly the limit: kept
    std::string utf8;
    while (utf8.size() < kMaxValue + 10) utf8 += "\xE2\x82\xAC";   // €, three bytes
    std::string cut = format_value(utf8);
    std::size_t end = cut.find("...[");
    ASSERT_NE(end, std::string::npos);
    EXPECT_EQ((end - 1) % 3, 0u) << "a UTF-8 sequence was split";   // minus the opening quote
}
