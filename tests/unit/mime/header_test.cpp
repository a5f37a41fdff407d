#include "mime/header.hpp"

#include <gtest/gtest.h>

using namespace rampart::mime;

TEST(HeaderFields, FoldedFieldsAndJunkLines) {
    std::string block = "Subject: a\r\n b\r\nnot a field\r\nX-Y : z\r\nTo:\r\n";
    auto f = header_fields(block);
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[0].name, "Subject");
    EXPECT_EQ(f[0].raw_value, " a\r\n b\r\n");
    EXPECT_EQ(f[0].begin, 0u);
    EXPECT_EQ(f[0].end, 16u);
    EXPECT_EQ(f[1].name, "X-Y");   // obsolete space before the colon
    EXPECT_EQ(f[2].name, "To");
    EXPECT_EQ(unfold(f[0].raw_value, 100), "a b");
    EXPECT_EQ(header_fields(block, 1).size(), 1u);
}

TEST(HeaderFields, UnfoldCap) {
    bool cut = false;
    EXPECT_EQ(unfold("  abcdef  ", 4, &cut), "ab");   // "  ab" kept, then trimmed
    EXPECT_TRUE(cut);
}

TEST(FieldValue, ContentTypeWithCommentsAndQuotes) {
    ParsedField f = parse_field_value("Multipart/Mixed (comment) ; BOUNDARY=\"a \\\"b\\\" c\"; charset=us-ascii (x);", 64, 4096);
    EXPECT_EQ(f.value, "multipart/mixed");
    ASSERT_EQ(f.params.size(), 2u);
    EXPECT_EQ(f.params[0].name, "boundary");
    EXPECT_EQ(f.params[0].value, "a \"b\" c");
    EXPECT_EQ(f.params[1].value, "us-ascii");
    EXPECT_FALSE(f.syntax_error);
    EXPECT_FALSE(f.bad_param);
}

TEST(FieldValue, Rfc2231ContinuationsInAnyOrder) {
    ParsedField f = parse_field_value("attachment; filename*1=\"b.t\"; filename*0*=utf-8'de'%C3%A4; filename*2=xt", 64, 4096);
    ASSERT_EQ(f.params.size(), 1u);
    EXPECT_EQ(f.params[0].value, "\xc3\xa4" "b.txt");
    EXPECT_FALSE(f.bad_param);
}

TEST(FieldValue, Rfc2231GapsAndDuplicatesAreFlagged) {
    EXPECT_TRUE(parse_field_value("attachment; filename*0=a; filename*2=c", 64, 4096).bad_param);
    EXPECT_TRUE(parse_field_value("attachment; filename=a; filename=b.exe", 64, 4096).bad_param);
    EXPECT_TRUE(parse_field_value("attachment; filename*=utf-8''%ZZ", 64, 4096).bad_param);
    EXPECT_TRUE(parse_field_value("attachment; filename*00=a", 64, 4096).bad_param);
    // The plain form next to the RFC 2231 form is normal (legacy clients) and not flagged.
    ParsedField both = parse_field_value("attachment; filename=\"old.txt\"; filename*=utf-8''new.txt", 64, 4096);
    EXPECT_FALSE(both.bad_param);
    EXPECT_EQ(both.params[0].value, "new.txt");
}

TEST(FieldValue, UnquotedNamesWithSpacesAndSyntaxErrors) {
    ParsedField f = parse_field_value("attachment; filename=my file.exe ; size=3", 64, 4096);
    ASSERT_EQ(f.params.size(), 2u);
    EXPECT_EQ(f.params[0].value, "my file.exe");
    EXPECT_TRUE(parse_field_value("text/plain; =x", 64, 4096).syntax_error);
    EXPECT_TRUE(parse_field_value("text/plain; name=\"unterminated", 64, 4096).syntax_error);
    EXPECT_FALSE(parse_field_value("text/plain;", 64, 4096).syntax_error);
}

TEST(FieldValue, LimitsOnParamsAndValues) {
    std::string many = "text/plain";
    for (int i = 0; i < 1000; ++i) many += "; p" + std::to_string(i) + "=v";
    ParsedField f = parse_field_value(many, 64, 4096);
    EXPECT_LE(f.params.size(), 64u);
    EXPECT_TRUE(f.bad_param);
    ParsedField big = parse_field_value("attachment; filename=\"" + std::string(100000, 'x') + "\"", 64, 100);
    EXPECT_LE(big.params[0].value.size(), 100u);
    EXPECT_TRUE(big.name_cut);   // the end of the name (its extension) was lost: say so
    EXPECT_FALSE(parse_field_value("attachment; filename=\"short.exe\"", 64, 100).name_cut);
    // Cut through RFC 2231 continuations and encoded words too; other parameters are not names.
    EXPECT_TRUE(parse_field_value("attachment; filename*0=\"" + std::string(80, 'a') + "\"; filename*1=\"" +
                                      std::string(80, 'b') + ".exe\"", 64, 100).name_cut);
    EXPECT_TRUE(parse_field_value("attachment; filename=\"=?utf-8?q?" + std::string(300, 'a') + ".exe?=\"", 64, 100).name_cut);
    EXPECT_FALSE(parse_field_value("text/plain; x-other=\"" + std::string(300, 'a') + "\"", 64, 100).name_cut);
}

TEST(FieldValue, EightBitFilenames) {
    ParsedField u = parse_field_value("attachment; filename=\"\xc3\xa9t\xc3\xa9.pdf\"", 64, 4096);
    EXPECT_EQ(u.params[0].value, "\xc3\xa9t\xc3\xa9.pdf");
    EXPECT_FALSE(u.unknown_charset);
    ParsedField raw = parse_field_value("attachment; filename=\"\xe9t\xe9.pdf\"", 64, 4096);
    EXPECT_EQ(raw.params[0].value, "\xe9t\xe9.pdf");
    EXPECT_TRUE(raw.unknown_charset);
}
