#include "senderauth/dkim_signature.hpp"

#include <gtest/gtest.h>

using namespace rampart::senderauth;

namespace {

const std::string kGood =
    "v=1; a=rsa-sha256; c=relaxed/simple; d=Example.TEST; s=Sel;\r\n"
    " h=From : To : subject; bh=S5CqfeMF+FWZDcfRVGIjYkL5kjFQSsjRJkzU34jrSZU=;\r\n"
    " b=AAAA BBBB\r\n CCCC";

std::string with(std::string_view remove_tag, std::string_view add) {
    // kGood without the tag `remove_tag` (its whole "name=value;" spec), plus `add`.
    std::string out;
    std::string text = kGood;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t semi = text.find(';', pos);
        if (semi == std::string::npos) semi = text.size();
        std::string spec = text.substr(pos, semi - pos);
        std::size_t eq = spec.find('=');
        std::string name = spec.substr(0, eq);
        name.erase(0, name.find_first_not_of(" \r\n\t"));
        if (name != remove_tag) out += spec + ";";
        pos = semi + 1;
    }
    return out + std::string(add);
}

}  // namespace

TEST(TagList, OffsetsDuplicatesAndTrailingSemicolon) {
    auto tags = parse_tag_list(" a = 1 ; bb=x y ;");
    ASSERT_TRUE(tags.ok()) << tags.error().message;
    ASSERT_EQ(tags->size(), 2u);
    EXPECT_EQ((*tags)[0].name, "a");
    EXPECT_EQ((*tags)[0].value, "1");
    EXPECT_EQ((*tags)[1].value, "x y");
    EXPECT_EQ((*tags)[1].value_begin, 12u);
    EXPECT_FALSE(parse_tag_list("a=1; a=2").ok());
    EXPECT_FALSE(parse_tag_list("a=1;; b=2").ok());
    EXPECT_FALSE(parse_tag_list("novalue").ok());
    EXPECT_FALSE(parse_tag_list("1a=x").ok());
    EXPECT_FALSE(parse_tag_list("a=\x01").ok());
}

TEST(DkimSignature, ParsesAndNormalises) {
    auto sig = parse_dkim_signature(kGood);
    ASSERT_TRUE(sig.ok()) << sig.error().message;
    EXPECT_EQ(sig->algorithm, DkimAlgorithm::RsaSha256);
    EXPECT_EQ(sig->header_canon, Canon::Relaxed);
    EXPECT_EQ(sig->body_canon, Canon::Simple);
    EXPECT_EQ(sig->domain, "example.test");
    EXPECT_EQ(sig->selector, "sel");
    EXPECT_EQ(sig->identity, "@example.test");
    EXPECT_EQ(sig->key_name(), "sel._domainkey.example.test");
    EXPECT_EQ(sig->signed_headers, (std::vector<std::string>{"from", "to", "subject"}));
    EXPECT_EQ(sig->b_text, "AAAABBBBCCCC");
    EXPECT_EQ(sig->signature.size(), 9u);
    EXPECT_EQ(sig->body_hash.size(), 32u);
}

TEST(DkimSignature, StripBKeepsEverythingElse) {
    std::string v = "v=1; bh=abc=; b=AB\r\n CD; d=x";
    EXPECT_EQ(strip_b_value(v), "v=1; bh=abc=; b=; d=x");
    EXPECT_EQ(strip_b_value("v=1; b = AB CD ;d=x"), "v=1; b =;d=x");   // §3.7: with its whitespace
    EXPECT_EQ(strip_b_value("v=1; b=AB\r\n CD \r\n"), "v=1; b=\r\n");     // the field's line end stays
    EXPECT_EQ(strip_b_value("v=1; bh=AB; b=CD"), "v=1; bh=AB; b=");
}

TEST(DkimSignature, MissingRequiredTagsArePermerrors) {
    for (const char* tag : {"v", "a", "b", "bh", "d", "h", "s"}) {
        auto sig = parse_dkim_signature(with(tag, ""));
        ASSERT_FALSE(sig.ok()) << tag;
        EXPECT_EQ(sig.error().message, std::string("missing tag ") + tag + "=");
    }
}

struct BadCase {
    const char* name;
    std::string value;
    const char* reason;   // a substring of the error
};

class DkimSignatureBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(DkimSignatureBad, Refused) {
    auto sig = parse_dkim_signature(GetParam().value);
    ASSERT_FALSE(sig.ok());
    EXPECT_NE(sig.error().message.find(GetParam().reason), std::string::npos) << sig.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    All, DkimSignatureBad,
    ::testing::Values(
        BadCase{"duplicate", kGood + "; d=other.test", "duplicate tag d="},
        BadCase{"version", with("v", "v=2"), "version"},
        BadCase{"algorithm", with("a", "a=rsa-md5"), "algorithm"},
        BadCase{"b_base64", with("b", "b=AB$C"), "base64 in b="},
        BadCase{"b_padding", with("b", "b=ABC"), "base64 in b="},
        BadCase{"b_after_pad", with("b", "b=AB==CD=="), "base64 in b="},
        BadCase{"bh_empty", with("bh", "bh="), "base64 in bh="},
        BadCase{"no_from", with("h", "h=to:subject"), "From"},
        BadCase{"h_empty_name", with("h", "h=from::to"), "empty header name"},
        BadCase{"canon", with("c", "c=fancy/simple"), "canonicalization"},
        BadCase{"domain", with("d", "d=exa mple..test"), "d="},
        BadCase{"domain_dash", with("d", "d=-example.test"), "d="},
        BadCase{"selector", with("s", "s=a/b"), "s="},
        BadCase{"identity_outside", kGood + "; i=user@evil.test", "i= not within d="},
        BadCase{"identity_suffix_trick", kGood + "; i=user@badexample.test", "i= not within d="},
        BadCase{"identity_no_at", kGood + "; i=user", "i="},
        BadCase{"length_huge", kGood + "; l=99999999999999999999999999", "l="},
        BadCase{"length_sign", kGood + "; l=-1", "l="},
        BadCase{"expiry_before_t", kGood + "; t=2000; x=1000", "x= before t="},
        BadCase{"query", kGood + "; q=http", "q="},
        BadCase{"huge_field", kGood + "; z=" + std::string(20000, 'a'), "too long"},
        BadCase{"huge_tag", with("b", "b=" + std::string(9000, 'A')), "too long"},
        BadCase{"many_tags", [] { std::string s = kGood; for (int i = 0; i < 80; ++i) s += "; t" + std::to_string(i) + "=1"; return s; }(), "too many tags"},
        BadCase{"many_headers", [] { std::string h = "h=from"; for (int i = 0; i < 200; ++i) h += ":x"; return with("h", h); }(), "too many header names"},
        BadCase{"eight_bit", kGood + "; z=\xc3\xa9", "bad character"},
        BadCase{"empty", "", "missing tag"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DkimSignature, Sha1AndEd25519ParseForTheVerifierToJudge) {
    EXPECT_EQ(parse_dkim_signature(with("a", "a=rsa-sha1"))->algorithm, DkimAlgorithm::RsaSha1);
    EXPECT_EQ(parse_dkim_signature(with("a", "a=ed25519-sha256"))->algorithm, DkimAlgorithm::Ed25519Sha256);
    auto sub = parse_dkim_signature(kGood + "; i=bob@mail.example.test; l=42; t=1; x=2");
    ASSERT_TRUE(sub.ok()) << sub.error().message;
    EXPECT_EQ(sub->identity_domain, "mail.example.test");
    EXPECT_EQ(*sub->body_length, 42u);
    EXPECT_EQ(*sub->expiration, 2u);
}

TEST(DkimKey, Records) {
    auto k = parse_dkim_key("v=DKIM1; k=ed25519; p=AAAA; t=y:s; h=sha256");
    ASSERT_TRUE(k.ok()) << k.error().message;
    EXPECT_EQ(k->key_type, "ed25519");
    EXPECT_EQ(k->public_key.size(), 3u);
    EXPECT_TRUE(k->testing);
    EXPECT_TRUE(k->strict_identity);
    auto revoked = parse_dkim_key("v=DKIM1; p=");
    ASSERT_TRUE(revoked.ok());
    EXPECT_TRUE(revoked->public_key.empty());
    EXPECT_EQ(revoked->key_type, "rsa");
    EXPECT_FALSE(parse_dkim_key("k=rsa; v=DKIM1; p=AAAA").ok());   // v= must come first
    EXPECT_FALSE(parse_dkim_key("v=DKIM2; p=AAAA").ok());
    EXPECT_FALSE(parse_dkim_key("v=DKIM1; k=dsa; p=AAAA").ok());
    EXPECT_FALSE(parse_dkim_key("v=DKIM1; k=rsa").ok());
    EXPECT_FALSE(parse_dkim_key("v=DKIM1; p=A*AA").ok());
    EXPECT_FALSE(parse_dkim_key("v=DKIM1; s=tlsrpt; p=AAAA").ok());
    EXPECT_FALSE(parse_dkim_key(std::string("p=") + std::string(9000, 'A')).ok());
}
