// The resolver's answer cache: TTLs, negative answers, the LRU bound.
#include "dns/cache.hpp"

#include <gtest/gtest.h>

using namespace rampart::dns;
using namespace std::chrono_literals;

namespace {
Answer found(std::string value, std::chrono::seconds ttl) {
    Answer a;
    a.status = RecordStatus::Found;
    a.records.push_back(ResourceRecord{"x.test", rr_type::A, static_cast<std::uint32_t>(ttl.count()), std::move(value), 0});
    a.ttl = ttl;
    return a;
}
Answer negative(RecordStatus s, std::chrono::seconds ttl) {
    Answer a;
    a.status = s;
    a.ttl = ttl;
    return a;
}
const AnswerCache::Clock::time_point t0 = AnswerCache::Clock::time_point{} + 1h;
}  // namespace

TEST(AnswerCache, PositiveAnswerKeptForItsTtl) {
    AnswerCache c(10);
    c.put("1 a.test", found("192.0.2.1", 300s), t0);
    auto hit = c.get("1 a.test", t0 + 299s);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->records.at(0).value, "192.0.2.1");
    EXPECT_EQ(hit->ttl, 1s);   // what remains
    EXPECT_FALSE(c.get("1 a.test", t0 + 300s));
    EXPECT_EQ(c.size(), 0u);   // the expired entry is gone
}

TEST(AnswerCache, NegativeAnswersKeptForTheSoaTtlCapped) {
    AnswerCache c(10);
    c.put("16 nx.test", negative(RecordStatus::NxDomain, 60s), t0);
    c.put("16 nodata.test", negative(RecordStatus::NoData, 24h), t0);
    ASSERT_TRUE(c.get("16 nx.test", t0 + 59s));
    EXPECT_EQ(c.get("16 nx.test", t0 + 59s)->status, RecordStatus::NxDomain);
    EXPECT_FALSE(c.get("16 nx.test", t0 + 60s));
    EXPECT_TRUE(c.get("16 nodata.test", t0 + AnswerCache::kMaxNegativeTtl - 1s));
    EXPECT_FALSE(c.get("16 nodata.test", t0 + AnswerCache::kMaxNegativeTtl));
}

TEST(AnswerCache, FailuresAndZeroTtlsAreNotStored) {
    AnswerCache c(10);
    c.put("1 tmp.test", negative(RecordStatus::Temporary, 300s), t0);
    c.put("1 zero.test", found("192.0.2.1", 0s), t0);
    c.put("1 nosoa.test", negative(RecordStatus::NxDomain, 0s), t0);   // no SOA: RFC 2308 §5, not cached
    EXPECT_EQ(c.size(), 0u);
    AnswerCache off(0);
    off.put("1 a.test", found("192.0.2.1", 300s), t0);
    EXPECT_FALSE(off.get("1 a.test", t0));
}

TEST(AnswerCache, LongTtlsAreCut) {
    AnswerCache c(10);
    c.put("1 a.test", found("192.0.2.1", 1000h), t0);
    EXPECT_TRUE(c.get("1 a.test", t0 + AnswerCache::kMaxTtl - 1s));
    EXPECT_FALSE(c.get("1 a.test", t0 + AnswerCache::kMaxTtl));
}

TEST(AnswerCache, BoundedLeastRecentlyUsedGoesFirst) {
    AnswerCache c(3);
    c.put("a", found("192.0.2.1", 300s), t0);
    c.put("b", found("192.0.2.2", 300s), t0);
    c.put("c", found("192.0.2.3", 300s), t0);
    ASSERT_TRUE(c.get("a", t0));   // a is now the most recently used; b the least
    c.put("d", found("192.0.2.4", 300s), t0);
    EXPECT_EQ(c.size(), 3u);
    EXPECT_FALSE(c.get("b", t0));
    EXPECT_TRUE(c.get("a", t0));
    EXPECT_TRUE(c.get("c", t0));
    EXPECT_TRUE(c.get("d", t0));
    c.put("c", found("192.0.2.33", 300s), t0);   // replacing does not grow it
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(c.get("c", t0)->records.at(0).value, "192.0.2.33");
}
