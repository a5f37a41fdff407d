#include "mime/transfer_decoder.hpp"

#include <gtest/gtest.h>

using namespace rampart::mime;

namespace {
std::string run(std::string_view body, Encoding e, DecodeStatus* st = nullptr, std::size_t max = unlimited) {
    std::string out;
    DecodeStatus s = decode(body, e, [&](std::string_view c) { out.append(c); return true; }, max);
    if (st) *st = s;
    return out;
}
}  // namespace

TEST(Base64, DecodesAcrossLinesAndPadding) {
    DecodeStatus st;
    EXPECT_EQ(run("aGVs\r\nbG8g\r\nd29y bGQ=\r\n", Encoding::Base64, &st), "hello world");
    EXPECT_FALSE(st.bad);
    EXPECT_EQ(st.bytes, 11u);
    EXPECT_EQ(run("YQ==", Encoding::Base64, &st), "a");
    EXPECT_EQ(run("YWI", Encoding::Base64, &st), "ab");   // missing padding is tolerated
    EXPECT_FALSE(st.bad);
}

TEST(Base64, FlagsButDecodesBadInput) {
    DecodeStatus st;
    EXPECT_EQ(run("aGVs!bG8=", Encoding::Base64, &st), "hello");
    EXPECT_TRUE(st.bad);   // '!' is outside the alphabet
    EXPECT_EQ(run("YQ==YWI=", Encoding::Base64, &st), "aab");
    EXPECT_TRUE(st.bad);   // data after padding
    run("YWJjZ", Encoding::Base64, &st);
    EXPECT_TRUE(st.bad);   // six bits left over
    run("=", Encoding::Base64, &st);
    EXPECT_TRUE(st.bad);
}

TEST(QuotedPrintable, Rfc2045Rules) {
    DecodeStatus st;
    EXPECT_EQ(run("a=3Db=\r\nc  \r\nd=\t \r\ne", Encoding::QuotedPrintable, &st), "a=bc\r\nde");
    EXPECT_FALSE(st.bad);
    EXPECT_EQ(run("caf=c3=a9\n", Encoding::QuotedPrintable, &st), "caf\xc3\xa9\r\n");   // lower-case hex, LF
    EXPECT_FALSE(st.bad);
    EXPECT_EQ(run("100% =ZZ =4", Encoding::QuotedPrintable, &st), "100% =ZZ =4");
    EXPECT_TRUE(st.bad);
}

TEST(Decode, IdentityAndCaps) {
    DecodeStatus st;
    EXPECT_EQ(run("raw\r\nbytes", Encoding::SevenBit, &st), "raw\r\nbytes");
    EXPECT_EQ(run("raw bytes", Encoding::Binary, &st, 3), "raw");
    EXPECT_TRUE(st.truncated);
    EXPECT_EQ(run("aGVsbG8gd29ybGQ=", Encoding::Base64, &st, 5), "hello");
    EXPECT_TRUE(st.truncated);
    EXPECT_EQ(st.bytes, 5u);
}

TEST(Decode, StreamsInBoundedChunksAndStopsWhenAsked) {
    std::string body;
    for (int i = 0; i < 4000; ++i) body += "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n";
    std::size_t chunks = 0, total = 0, largest = 0;
    DecodeStatus st = decode(body, Encoding::Base64, [&](std::string_view c) {
        ++chunks;
        total += c.size();
        largest = std::max(largest, c.size());
        return true;
    });
    EXPECT_EQ(total, 4000u * 57);
    EXPECT_EQ(st.bytes, total);
    EXPECT_LE(largest, 16384u);
    EXPECT_GT(chunks, 10u);
    std::size_t seen = 0;
    st = decode(body, Encoding::Base64, [&](std::string_view c) { seen += c.size(); return false; });
    EXPECT_TRUE(st.truncated);
    EXPECT_LE(seen, 16384u);
}
