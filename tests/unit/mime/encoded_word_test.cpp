#include "mime/encoded_word.hpp"

#include <gtest/gtest.h>

using namespace rampart::mime;

TEST(EncodedWord, BAndQWords) {
    EXPECT_EQ(decode_encoded_words("=?UTF-8?B?w6l0w6k=?=", 100).utf8, "\xc3\xa9t\xc3\xa9");
    EXPECT_EQ(decode_encoded_words("=?iso-8859-1?q?r=E9sum=E9_final?=", 100).utf8, "r\xc3\xa9sum\xc3\xa9 final");
    EXPECT_EQ(decode_encoded_words("x =?utf-8*en?Q?a?= y", 100).utf8, "x a y");   // RFC 2231 §5 language
}

TEST(EncodedWord, SpaceBetweenWordsIsDroppedAndSplitCharactersJoin) {
    // "€" (E2 82 AC) split over two words.
    EXPECT_EQ(decode_encoded_words("=?UTF-8?Q?=E2=82?=  \t =?UTF-8?Q?=AC?=", 100).utf8, "\xe2\x82\xac");
    EXPECT_EQ(decode_encoded_words("=?UTF-8?Q?a?= b =?UTF-8?Q?c?=", 100).utf8, "a b c");
}

TEST(EncodedWord, MalformedWordsStayLiteral) {
    EXPECT_EQ(decode_encoded_words("=?utf-8?X?abc?=", 100).utf8, "=?utf-8?X?abc?=");
    EXPECT_EQ(decode_encoded_words("=?utf-8?Q?no end", 100).utf8, "=?utf-8?Q?no end");
    EXPECT_EQ(decode_encoded_words("=??Q?a?=", 100).utf8, "=??Q?a?=");
}

TEST(Charset, KnownCharsetsBecomeUtf8) {
    DecodedText t;
    append_charset("windows-1252", "\x93q\x94 \x80", 100, &t);
    EXPECT_EQ(t.utf8, "\xe2\x80\x9cq\xe2\x80\x9d \xe2\x82\xac");
    DecodedText l9;
    append_charset("ISO-8859-15", "\xa4", 100, &l9);
    EXPECT_EQ(l9.utf8, "\xe2\x82\xac");
    DecodedText bad;
    append_charset("utf-8", "a\xff" "b", 100, &bad);
    EXPECT_EQ(bad.utf8, "a\xef\xbf\xbd" "b");
    EXPECT_TRUE(bad.malformed);
}

TEST(Charset, UnknownCharsetKeptRawAndReported) {
    DecodedText t = decode_encoded_words("=?shift_jis?B?gqA=?=", 100);
    EXPECT_EQ(t.utf8, "\x82\xa0");
    EXPECT_TRUE(t.unknown_charset);
}

TEST(Charset, CapIsRespectedAtCharacterBoundary) {
    DecodedText t;
    append_charset("iso-8859-1", std::string(50, '\xe9'), 11, &t);
    EXPECT_LE(t.utf8.size(), 11u);
    EXPECT_TRUE(valid_utf8(t.utf8));
    EXPECT_TRUE(t.malformed);
    EXPECT_LE(decode_encoded_words(std::string(1000, 'a') + "=?utf-8?Q?b?=", 10).utf8.size(), 10u);
}

TEST(Utf8, Validation) {
    EXPECT_TRUE(valid_utf8("plain \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"));
    EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(valid_utf8("\xe6\x97"));          // cut
}

TEST(PercentDecode, BadEscapesKept) {
    bool bad = false;
    EXPECT_EQ(percent_decode("a%20b%e2%82%ac", &bad), "a b\xe2\x82\xac");
    EXPECT_FALSE(bad);
    EXPECT_EQ(percent_decode("100%", &bad), "100%");
    EXPECT_TRUE(bad);
    bad = false;
    EXPECT_EQ(percent_decode("%zz%4", &bad), "%zz%4");
    EXPECT_TRUE(bad);
}
