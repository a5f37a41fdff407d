#include "auth/sasl_codec.hpp"

#include <gtest/gtest.h>

using namespace rampart::auth;

TEST(SaslCodec, Base64IsStrict) {
    EXPECT_EQ(decode_base64("AGFsaWNlAHNlY3JldA=="), std::string("\0alice\0secret", 13));
    EXPECT_EQ(encode_base64(std::string("\0alice\0secret", 13)), "AGFsaWNlAHNlY3JldA==");
    EXPECT_EQ(decode_base64(""), "");
    EXPECT_FALSE(decode_base64("YWJj="));     // stray padding
    EXPECT_FALSE(decode_base64("YW Jj"));     // whitespace
    EXPECT_FALSE(decode_base64("*"));
}

// Found by tests/fuzz/sasl_codec (corpus: high-byte-as-slash): libsodium 1.0.18 decoded
// 0xF3 as if it were '/', so a response that is not base64 was taken as one.
TEST(SaslCodec, BytesOutsideTheAlphabetAreRefused) {
    EXPECT_EQ(decode_base64("Gjwwgw/wwwwwwww="), std::string("\x1a\x3c\x30\x83\x0f\xf0\xc3\x0c\x30\xc3\x0c"));
    EXPECT_FALSE(decode_base64("Gjwwgw\xf3wwwwwwww="));
    for (int c = 0x80; c <= 0xFF; ++c) EXPECT_FALSE(decode_base64(std::string("YWJ") + static_cast<char>(c))) << c;
}

TEST(SaslCodec, PlainSplitsAtTheFirstTwoNuls) {
    auto p = parse_plain(std::string("authz\0user\0pa\0ss", 16));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->authzid, "authz");
    EXPECT_EQ(p->user, "user");
    EXPECT_EQ(p->password, std::string("pa\0ss", 5));
    EXPECT_FALSE(parse_plain(std::string("user\0pass", 9)));
    EXPECT_FALSE(parse_plain(""));
}

TEST(SaslCodec, ResponseLineMarkers) {
    EXPECT_EQ(decode_response_line("*").kind, SaslLine::Kind::Cancel);
    EXPECT_EQ(decode_response_line("=").kind, SaslLine::Kind::BadBase64);
    SaslLine d = decode_response_line("Ym9i");
    EXPECT_EQ(d.kind, SaslLine::Kind::Data);
    EXPECT_EQ(d.data, "bob");
    SaslLine empty = decode_initial_response("=");
    EXPECT_EQ(empty.kind, SaslLine::Kind::Data);
    EXPECT_EQ(empty.data, "");
    EXPECT_EQ(decode_initial_response("*").kind, SaslLine::Kind::BadBase64);
}
