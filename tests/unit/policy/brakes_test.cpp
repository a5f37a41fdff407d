#include "policy/brakes.hpp"

#include <gtest/gtest.h>

using namespace rampart;
using namespace rampart::policy;
using namespace std::chrono_literals;

namespace {
class BrakesTest : public ::testing::Test {
protected:
    BrakesTest() : brakes([this] { return now; }, 8) {
        limits.auth_failure_delay = 1s;
        limits.auth_failure_delay_max = 5s;
        limits.auth_lockout_failures = 3;
        limits.auth_lockout_window = 10min;
        limits.max_messages_per_hour = 2;
        limits.max_recipients_per_hour = 5;
    }
    Brakes::Clock::time_point now{std::chrono::hours(1000)};
    config::ListenerLimits limits;
    Brakes brakes;
    const std::string ip = Brakes::ip_key("192.0.2.1");
};
}  // namespace

TEST_F(BrakesTest, TarpitDoublesAndIsCapped) {
    EXPECT_EQ(brakes.auth_failed(ip, "", limits).delay, 1s);
    EXPECT_EQ(brakes.auth_failed(ip, "", limits).delay, 2s);
    limits.auth_lockout_failures = 0;
    EXPECT_EQ(brakes.auth_failed(ip, "", limits).delay, 4s);
    EXPECT_EQ(brakes.auth_failed(ip, "", limits).delay, 5s);
    EXPECT_EQ(brakes.auth_failed(ip, "", limits).delay, 5s);
    limits.auth_failure_delay = 0s;
    EXPECT_EQ(brakes.auth_failed(ip, "", limits).delay, 0s);
}

TEST_F(BrakesTest, LockoutPerAddressAfterNFailuresForTheWindow) {
    EXPECT_FALSE(brakes.locked(ip));
    EXPECT_FALSE(brakes.auth_failed(ip, "", limits).locked_ip);
    EXPECT_FALSE(brakes.auth_failed(ip, "", limits).locked_ip);
    Brakes::Failure f = brakes.auth_failed(ip, "", limits);
    EXPECT_TRUE(f.locked_ip);
    EXPECT_EQ(f.failures, 3u);
    ASSERT_TRUE(brakes.locked(ip));
    EXPECT_EQ(*brakes.locked(ip), 10min);
    EXPECT_FALSE(brakes.locked(Brakes::ip_key("192.0.2.2")));
    now += 9min;
    EXPECT_TRUE(brakes.locked(ip));
    now += 1min;
    EXPECT_FALSE(brakes.locked(ip));
    // After the lockout the count starts again.
    EXPECT_FALSE(brakes.auth_failed(ip, "", limits).locked_ip);
}

TEST_F(BrakesTest, FailuresOutsideTheWindowAreForgotten) {
    brakes.auth_failed(ip, "", limits);
    brakes.auth_failed(ip, "", limits);
    now += 11min;
    EXPECT_EQ(brakes.auth_failed(ip, "", limits).failures, 1u);
    EXPECT_FALSE(brakes.locked(ip));
}

TEST_F(BrakesTest, LockoutPerUserAcrossAddresses) {
    std::string alice = Brakes::user_key("Alice");
    EXPECT_EQ(alice, "user:alice");
    brakes.auth_failed(Brakes::ip_key("192.0.2.1"), alice, limits);
    brakes.auth_failed(Brakes::ip_key("192.0.2.2"), alice, limits);
    Brakes::Failure f = brakes.auth_failed(Brakes::ip_key("192.0.2.3"), alice, limits);
    EXPECT_TRUE(f.locked_user);
    EXPECT_FALSE(f.locked_ip);
    EXPECT_TRUE(brakes.locked(alice));
    EXPECT_FALSE(brakes.locked(Brakes::ip_key("192.0.2.3")));
    // A success during the lockout does not lift it.
    brakes.auth_succeeded(alice);
    EXPECT_TRUE(brakes.locked(alice));
}

TEST_F(BrakesTest, SuccessClearsTheUsersCountButNotTheAddresss) {
    std::string bob = Brakes::user_key("bob");
    brakes.auth_failed(ip, bob, limits);
    brakes.auth_failed(ip, bob, limits);
    brakes.auth_succeeded(bob);
    Brakes::Failure f = brakes.auth_failed(ip, bob, limits);
    EXPECT_TRUE(f.locked_ip);
    EXPECT_FALSE(f.locked_user);
}

TEST_F(BrakesTest, NoLockoutWhenOff) {
    limits.auth_lockout_failures = 0;
    for (int i = 0; i < 10; ++i) brakes.auth_failed(ip, "", limits);
    EXPECT_FALSE(brakes.locked(ip));
}

TEST_F(BrakesTest, HourlyMessageAndRecipientLimits) {
    const std::string u = "user:alice";
    EXPECT_EQ(brakes.would_exceed(u, 1, 0, limits), Brakes::Limit::None);
    brakes.count(u, 1, 3);
    EXPECT_EQ(brakes.would_exceed(u, 1, 0, limits), Brakes::Limit::None);
    EXPECT_EQ(brakes.would_exceed(u, 0, 2, limits), Brakes::Limit::None);
    EXPECT_EQ(brakes.would_exceed(u, 0, 3, limits), Brakes::Limit::Recipients);
    brakes.count(u, 1, 1);
    EXPECT_EQ(brakes.would_exceed(u, 1, 0, limits), Brakes::Limit::Messages);
    EXPECT_EQ(brakes.would_exceed("user:bob", 1, 0, limits), Brakes::Limit::None);
    now += 59min;
    EXPECT_EQ(brakes.would_exceed(u, 1, 0, limits), Brakes::Limit::Messages);
    now += 1min;
    EXPECT_EQ(brakes.would_exceed(u, 1, 0, limits), Brakes::Limit::None);
    limits.max_messages_per_hour = 0;
    limits.max_recipients_per_hour = 0;
    brakes.count(u, 1000, 1000);
    EXPECT_EQ(brakes.would_exceed(u, 1, 1, limits), Brakes::Limit::None);
}

TEST_F(BrakesTest, RepliesAreTemporarySecurityCodes) {
    EXPECT_EQ(Brakes::lockout_reply().code, 454);
    EXPECT_EQ(Brakes::lockout_reply().enhanced, "4.7.0");
    EXPECT_EQ(Brakes::rate_reply(Brakes::Limit::Messages).code, 450);
    EXPECT_EQ(Brakes::rate_reply(Brakes::Limit::Recipients).enhanced, "4.7.1");
}

TEST_F(BrakesTest, MemoryIsBounded) {
    // max_keys = 8 per table: a spray of addresses never grows the tables beyond it.
    for (int i = 0; i < 100; ++i) {
        brakes.auth_failed(Brakes::ip_key("198.51.100." + std::to_string(i)), "", limits);
        brakes.count("user:u" + std::to_string(i), 1, 1);
    }
    EXPECT_LE(brakes.size(), 16u);
    // Expired entries go first: a live lockout survives a spray after it expires others.
    now += 11min;
    brakes.auth_failed(ip, "", limits);
    brakes.auth_failed(ip, "", limits);
    brakes.auth_failed(ip, "", limits);
    for (int i = 0; i < 7; ++i) brakes.auth_failed(Brakes::ip_key("203.0.113." + std::to_string(i)), "", limits);
    EXPECT_TRUE(brakes.locked(ip));
}
