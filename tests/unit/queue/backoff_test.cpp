#include "queue/backoff.hpp"

#include <gtest/gtest.h>

using namespace rampart;
using namespace std::chrono_literals;

namespace {
config::QueueSettings settings() {
    config::QueueSettings s;
    s.retry_interval = 5min;
    s.max_retry_interval = 1h;
    s.retry_backoff = 2.0;
    s.max_lifetime = 24h * 5;
    s.delay_warning = 4h;
    return s;
}
constexpr std::int64_t kMin = 60'000;
}  // namespace

TEST(Backoff, DelayDoublesUpToTheCap) {
    auto s = settings();
    EXPECT_EQ(queue::retry_delay_ms(s, 1), 5 * kMin);
    EXPECT_EQ(queue::retry_delay_ms(s, 2), 10 * kMin);
    EXPECT_EQ(queue::retry_delay_ms(s, 3), 20 * kMin);
    EXPECT_EQ(queue::retry_delay_ms(s, 4), 40 * kMin);
    EXPECT_EQ(queue::retry_delay_ms(s, 5), 60 * kMin);
    EXPECT_EQ(queue::retry_delay_ms(s, 1000000), 60 * kMin);   // no overflow
}

TEST(Backoff, FactorOneKeepsTheFirstInterval) {
    auto s = settings();
    s.retry_backoff = 1.0;
    EXPECT_EQ(queue::retry_delay_ms(s, 1), 5 * kMin);
    EXPECT_EQ(queue::retry_delay_ms(s, 50), 5 * kMin);
}

TEST(Backoff, CapBelowFirstIntervalNeverShortensIt) {
    auto s = settings();
    s.max_retry_interval = 1min;
    EXPECT_EQ(queue::retry_delay_ms(s, 3), 5 * kMin);
}

TEST(Backoff, LastAttemptHappensAtExpiry) {
    auto s = settings();
    s.max_lifetime = 30min;
    std::int64_t received = 1'700'000'000;
    std::int64_t now = received * 1000 + 25 * kMin;
    EXPECT_EQ(queue::next_attempt_ms(s, received, 4, now), received * 1000 + 30 * kMin);
    EXPECT_FALSE(queue::expired(s, received, now));
    EXPECT_TRUE(queue::expired(s, received, received * 1000 + 30 * kMin));
    // Already past expiry: due at once, never in the past.
    EXPECT_EQ(queue::next_attempt_ms(s, received, 4, received * 1000 + 40 * kMin), received * 1000 + 40 * kMin);
}

TEST(Backoff, DelayWarningOnlyBeforeExpiry) {
    auto s = settings();
    std::int64_t received = 1'700'000'000;
    EXPECT_FALSE(queue::delay_warning_due(s, received, received * 1000 + 3 * 60 * kMin));
    EXPECT_TRUE(queue::delay_warning_due(s, received, received * 1000 + 4 * 60 * kMin));
    s.delay_warning = s.max_lifetime;   // switched off
    EXPECT_FALSE(queue::delay_warning_due(s, received, received * 1000 + 6 * 24 * 60 * kMin));
}
