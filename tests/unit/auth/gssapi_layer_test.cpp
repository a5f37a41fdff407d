// RFC 4752 §3.1 security-layer messages.
#include "auth/gssapi_layer.hpp"

#include <gtest/gtest.h>

using namespace rampart::auth;

TEST(GssapiLayer, OfferIsMaskThenSizeInNetworkOrder) {
    EXPECT_EQ(encode_layer_offer(kLayerNone, 0), std::string("\x01\x00\x00\x00", 4));
    EXPECT_EQ(encode_layer_offer(kLayerNone | kLayerIntegrity, 0x010203), std::string("\x03\x01\x02\x03", 4));
    EXPECT_EQ(encode_layer_offer(kLayerNone, 0xFFFFFFFF), std::string("\x01\xFF\xFF\xFF", 4));   // clamped
}

TEST(GssapiLayer, ChoiceCarriesLayerSizeAndAuthzid) {
    auto c = decode_layer_choice(std::string("\x01\x00\x00\x00", 4) + "alice");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->layer, kLayerNone);
    EXPECT_EQ(c->max_size, 0u);
    EXPECT_EQ(c->authzid, "alice");
    c = decode_layer_choice(std::string("\x04\x00\x10\x00", 4));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->layer, kLayerConfidentiality);
    EXPECT_EQ(c->max_size, 0x1000u);
    EXPECT_EQ(c->authzid, "");
}

TEST(GssapiLayer, MalformedChoicesAreRefused) {
    EXPECT_FALSE(decode_layer_choice(""));
    EXPECT_FALSE(decode_layer_choice(std::string("\x01\x00\x00", 3)));            // too short
    EXPECT_FALSE(decode_layer_choice(std::string("\x00\x00\x00\x00", 4)));        // no layer
    EXPECT_FALSE(decode_layer_choice(std::string("\x03\x00\x00\x00", 4)));        // two layers
    EXPECT_FALSE(decode_layer_choice(std::string("\x01\x00\x00\x00" "a\0b", 7)));  // NUL in authzid
}

TEST(GssapiLayer, RoundTripsEveryLayerBit) {
    for (std::uint8_t layer : {kLayerNone, kLayerIntegrity, kLayerConfidentiality}) {
        auto c = decode_layer_choice(encode_layer_offer(layer, 12345) + "x@EXAMPLE.TEST");
        ASSERT_TRUE(c);
        EXPECT_EQ(c->layer, layer);
        EXPECT_EQ(c->max_size, 12345u);
        EXPECT_EQ(c->authzid, "x@EXAMPLE.TEST");
    }
}
