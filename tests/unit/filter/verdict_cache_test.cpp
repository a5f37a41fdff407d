// The antivirus verdict cache: a hit within the ttl, expiry, failures never kept, the bound
// (least recently used dropped first), off with ttl 0, per engine.
#include "filter/verdict_cache.hpp"

#include <gtest/gtest.h>

using namespace rampart::filter;
using namespace std::chrono_literals;
using Kind = ClamdReply::Kind;

namespace {
ClamdReply clean() { return {Kind::Clean, {}, {}}; }
ClamdReply infected(std::string s) { return {Kind::Infected, std::move(s), {}}; }
}  // namespace

TEST(VerdictCache, HitWithinTtlThenExpires) {
    VerdictCache c(5min, 10);
    auto t0 = VerdictCache::Clock::now();
    Sha256 d = sha256("payload");
    EXPECT_FALSE(c.get("clamav", d, t0));
    c.put("clamav", d, infected("Test.EICAR"), t0);
    auto hit = c.get("clamav", d, t0 + 4min);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->kind, Kind::Infected);
    EXPECT_EQ(hit->signature, "Test.EICAR");
    EXPECT_FALSE(c.get("other-engine", d, t0)) << "per engine";
    EXPECT_FALSE(c.get("clamav", sha256("payload2"), t0)) << "per message";
    EXPECT_FALSE(c.get("clamav", d, t0 + 5min));
    EXPECT_EQ(c.size(), 0u) << "an expired entry is dropped";
}

TEST(VerdictCache, FailuresAreNotKept) {
    VerdictCache c(5min, 10);
    Sha256 d = sha256("x");
    c.put("icap", d, {Kind::Error, {}, "cannot connect"});
    EXPECT_FALSE(c.get("icap", d));
    c.put("icap", d, clean());
    EXPECT_TRUE(c.get("icap", d));
}

TEST(VerdictCache, BoundedLeastRecentlyUsedFirst) {
    VerdictCache c(5min, 3);
    auto t = VerdictCache::Clock::now();
    for (const char* m : {"a", "b", "c"}) c.put("e", sha256(m), clean(), t);
    EXPECT_TRUE(c.get("e", sha256("a"), t));   // a used again: b is now the oldest used
    c.put("e", sha256("d"), clean(), t);
    EXPECT_EQ(c.size(), 3u);
    EXPECT_FALSE(c.get("e", sha256("b"), t));
    EXPECT_TRUE(c.get("e", sha256("a"), t));
    EXPECT_TRUE(c.get("e", sha256("c"), t));
    EXPECT_TRUE(c.get("e", sha256("d"), t));
}

TEST(VerdictCache, OffWithZeroTtl) {
    VerdictCache c(0ms, 10);
    EXPECT_FALSE(c.enabled());
    c.put("e", sha256("a"), clean());
    EXPECT_FALSE(c.get("e", sha256("a")));
}

TEST(VerdictCache, Sha256) {
    Sha256 d = sha256("abc");
    EXPECT_EQ(d[0], 0xba);
    EXPECT_EQ(d[31], 0xad);
}
