// The DNS codec: the query we send, the answers we read, and malformed answers refused.
#include "dns/message.hpp"

#include <gtest/gtest.h>

#include "dns/dns_wire.hpp"

using namespace rampart::dns;
using namespace rampart::dns::testing;

TEST(EncodeQuery, HeaderQuestionAndOpt) {
    auto q = encode_query(0x1234, "Example.ORG.", rr_type::TXT);
    ASSERT_TRUE(q);
    std::vector<std::uint8_t> want{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
                                   7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'O', 'R', 'G', 0, 0, 16, 0, 1,
                                   0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(*q, want);
}

TEST(EncodeQuery, RefusesBadNames) {
    EXPECT_FALSE(encode_query(1, std::string(64, 'a') + ".test", rr_type::A));
    EXPECT_FALSE(encode_query(1, "a..test", rr_type::A));
    EXPECT_FALSE(encode_query(1, std::string(254, 'a'), rr_type::A));
}

TEST(DecodeResponse, RecordsOfEveryUsedType) {
    Reply r = reply(0x4242, "Mail.Test", rr_type::MX);
    std::vector<std::uint8_t> mx{0, 10};
    put_name(mx, "MX1.Mail.Test");
    r.answers.push_back({rr_type::MX, 300, mx, ""});
    r.answers.push_back({rr_type::A, 60, {192, 0, 2, 1}, "mx1.mail.test"});
    std::vector<std::uint8_t> six(16, 0);
    six[0] = 0x20; six[1] = 0x01; six[2] = 0x0d; six[3] = 0xb8; six[15] = 1;
    r.answers.push_back({rr_type::AAAA, 60, six, "mx1.mail.test"});
    std::vector<std::uint8_t> txt = txt_rdata("v=spf1 ");
    auto more = txt_rdata("-all");
    txt.insert(txt.end(), more.begin(), more.end());
    r.answers.push_back({rr_type::TXT, 70, txt, ""});
    std::vector<std::uint8_t> ptr;
    put_name(ptr, "host.test");
    r.answers.push_back({rr_type::PTR, 80, ptr, ""});
    r.answers.push_back({99, 80, {1, 2, 3}, ""});   // SPF type 99: not used, skipped
    auto d = decode_response(encode(r));
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d->id, 0x4242);
    EXPECT_EQ(d->question, "mail.test");
    EXPECT_EQ(d->question_type, rr_type::MX);
    ASSERT_EQ(d->answers.size(), 5u);
    EXPECT_EQ(d->answers[0].value, "mx1.mail.test");
    EXPECT_EQ(d->answers[0].preference, 10);
    EXPECT_EQ(d->answers[0].owner, "mail.test");
    EXPECT_EQ(d->answers[0].ttl, 300u);
    EXPECT_EQ(d->answers[1].value, "192.0.2.1");
    EXPECT_EQ(d->answers[2].value, "2001:db8::1");
    EXPECT_EQ(d->answers[3].value, "v=spf1 -all");
    EXPECT_EQ(d->answers[4].value, "host.test");
    EXPECT_FALSE(d->negative_ttl);
}

TEST(DecodeResponse, NegativeTtlIsTheSmallerOfSoaTtlAndMinimum) {
    Reply r = reply(7, "nx.test", rr_type::A, rcode::NxDomain);
    r.soa = {{900, 300}};
    auto d = decode_response(encode(r));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->rcode, rcode::NxDomain);
    EXPECT_EQ(d->negative_ttl, 300u);
    r.soa = {{120, 300}};
    EXPECT_EQ(decode_response(encode(r))->negative_ttl, 120u);
}

TEST(DecodeResponse, TruncatedFlag) {
    Reply r = reply(7, "big.test", rr_type::TXT);
    r.tc = true;
    EXPECT_TRUE(decode_response(encode(r))->truncated);
}

TEST(DecodeResponse, NullMxIsDot) {
    Reply r = reply(7, "nomail.test", rr_type::MX);
    r.answers.push_back({rr_type::MX, 300, {0, 0, 0}, ""});
    auto d = decode_response(encode(r));
    ASSERT_TRUE(d);
    ASSERT_EQ(d->answers.size(), 1u);
    EXPECT_EQ(d->answers[0].value, ".");
}

TEST(DecodeResponse, MalformedAnswersAreRefusedNotRead) {
    Reply r = reply(7, "x.test", rr_type::A);
    r.answers.push_back({rr_type::A, 60, {192, 0, 2, 1}, ""});
    std::vector<std::uint8_t> good = encode(r);
    for (std::size_t n = 0; n < good.size(); ++n)   // every truncation fails cleanly
        EXPECT_FALSE(decode_response(std::span<const std::uint8_t>(good.data(), n))) << n;
    // The answer's owner: a compression pointer to itself (a loop).
    std::vector<std::uint8_t> loop = good;
    loop[24] = 0xc0;
    loop[25] = 24;
    EXPECT_FALSE(decode_response(loop));
    // Not a response (QR clear).
    std::vector<std::uint8_t> query = good;
    query[2] &= 0x7f;
    EXPECT_FALSE(decode_response(query));
    // A TXT string running past its RDATA: the record is skipped, the answer is kept.
    Reply t = reply(7, "t.test", rr_type::TXT);
    t.answers.push_back({rr_type::TXT, 60, {10, 'a', 'b'}, ""});
    auto d = decode_response(encode(t));
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->answers.empty());
}

TEST(DecodeResponse, TtlWithTheTopBitSetIsZero) {
    Reply r = reply(7, "x.test", rr_type::A);
    r.answers.push_back({rr_type::A, 0x80000001u, {192, 0, 2, 1}, ""});
    EXPECT_EQ(decode_response(encode(r))->answers.at(0).ttl, 0u);
}
