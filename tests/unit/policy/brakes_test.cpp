#include "policy/brakes.hpp"

#include <gtest/gtest.h>

#include <vector>

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

// ---- Races: checks and counts in one step (issue 14 items 6 and 7) ----
// Concurrency is modelled by interleaving: every attempt begins before any ends, as when
// 20 sessions send their passwords at once and the hashes run in parallel.

TEST_F(BrakesTest, NoMoreChecksInFlightThanTheLockoutAllows) {
    std::string alice = Brakes::user_key("alice");
    std::vector<Brakes::Attempt> running;
    int refused = 0;
    for (int i = 0; i < 20; ++i) {
        Brakes::Begin b = brakes.begin_attempt(Brakes::ip_key("192.0.2." + std::to_string(i)), alice, limits);
        if (b.ok()) running.push_back(std::move(b.attempt));
        else {
            ++refused;
            EXPECT_EQ(b.blocked, alice);
            EXPECT_EQ(b.retry, 0ms);   // not locked yet: attempts in flight
        }
    }
    EXPECT_EQ(running.size(), 3u);   // auth_lockout_failures
    EXPECT_EQ(refused, 17);
    Brakes::Failure last;
    for (auto& a : running) last = a.failed(alice, limits);
    EXPECT_TRUE(last.locked_user);
    EXPECT_TRUE(brakes.locked(alice));
    // Locked now: a begin is refused with the time left on the lockout.
    Brakes::Begin b = brakes.begin_attempt(Brakes::ip_key("192.0.2.99"), alice, limits);
    EXPECT_FALSE(b.ok());
    EXPECT_EQ(b.retry, 10min);
}

TEST_F(BrakesTest, AnAttemptEndedWithoutOutcomeGivesItsSlotBack) {
    std::string bob = Brakes::user_key("bob");
    {
        Brakes::Begin a = brakes.begin_attempt(ip, bob, limits);
        Brakes::Begin b = brakes.begin_attempt(ip, bob, limits);
        Brakes::Begin c = brakes.begin_attempt(ip, bob, limits);
        ASSERT_TRUE(a.ok() && b.ok() && c.ok());
        EXPECT_FALSE(brakes.begin_attempt(ip, bob, limits).ok());
        a.attempt.release();   // e.g. the directory was unavailable
        EXPECT_TRUE(brakes.begin_attempt(ip, bob, limits).ok());   // destroyed at once: slot back
    }   // b and c destroyed: cancelled or disconnected
    EXPECT_FALSE(brakes.locked(ip));
    Brakes::Begin d = brakes.begin_attempt(ip, bob, limits);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d.attempt.succeeded(bob));
}

TEST_F(BrakesTest, FailuresPlusAttemptsInFlightNeverPassTheLimit) {
    std::string carol = Brakes::user_key("carol");
    brakes.auth_failed(Brakes::ip_key("192.0.2.7"), carol, limits);
    brakes.auth_failed(Brakes::ip_key("192.0.2.8"), carol, limits);
    Brakes::Begin right = brakes.begin_attempt(ip, carol, limits);
    ASSERT_TRUE(right.ok());
    EXPECT_FALSE(brakes.begin_attempt(Brakes::ip_key("192.0.2.9"), carol, limits).ok());
    EXPECT_TRUE(right.attempt.succeeded(carol));   // clears the user's failures
    EXPECT_TRUE(brakes.begin_attempt(Brakes::ip_key("192.0.2.9"), carol, limits).ok());
}

TEST_F(BrakesTest, ASuccessThatEndsDuringALockoutIsRefused) {
    // A correct password is being checked for dave when failures from mechanisms that learn
    // the user name only at the end (GSSAPI) lock dave out: the success must not count.
    std::string dave = Brakes::user_key("dave");
    Brakes::Begin right = brakes.begin_attempt(ip, dave, limits);
    ASSERT_TRUE(right.ok());
    for (int i = 0; i < 3; ++i) {
        Brakes::Begin g = brakes.begin_attempt(Brakes::ip_key("198.51.100." + std::to_string(i)), "", limits);
        ASSERT_TRUE(g.ok());
        g.attempt.failed(dave, limits);
    }
    ASSERT_TRUE(brakes.locked(dave));
    EXPECT_FALSE(right.attempt.succeeded(dave));
    EXPECT_TRUE(brakes.locked(dave));   // and the lockout stands
    // Same when the address was locked meanwhile.
    limits.auth_lockout_failures = 0;
    Brakes::Begin other = brakes.begin_attempt(Brakes::ip_key("203.0.113.1"), Brakes::user_key("erin"), limits);
    ASSERT_TRUE(other.ok());
    limits.auth_lockout_failures = 1;
    brakes.auth_failed(Brakes::ip_key("203.0.113.1"), "", limits);
    EXPECT_FALSE(other.attempt.succeeded(Brakes::user_key("erin")));
}

TEST_F(BrakesTest, WithoutLockoutAttemptsAreNotLimited) {
    limits.auth_lockout_failures = 0;
    std::vector<Brakes::Attempt> running;
    for (int i = 0; i < 50; ++i) {
        Brakes::Begin b = brakes.begin_attempt(ip, "user:x", limits);
        ASSERT_TRUE(b.ok());
        running.push_back(std::move(b.attempt));
    }
    // The tarpit is unchanged: doubled per failure of the address, capped.
    EXPECT_EQ(running[0].failed("user:x", limits).delay, 1s);
    EXPECT_EQ(running[1].failed("user:x", limits).delay, 2s);
}

TEST_F(BrakesTest, ReservationsCountTowardsTheHourlyLimitsUntilGivenBack) {
    const std::string u = "user:alice";   // 2 messages, 5 recipients per hour
    std::vector<Brakes::Reservation> open(8);
    int accepted = 0;
    for (auto& r : open)   // 8 sessions say MAIL at once
        if (r.reserve(brakes, u, 1, 0, limits) == Brakes::Limit::None) ++accepted;
    EXPECT_EQ(accepted, 2);
    // RCPT: recipients are held per transaction; 5 in all.
    EXPECT_EQ(open[0].reserve(brakes, u, 0, 1, limits), Brakes::Limit::None);
    EXPECT_EQ(open[0].reserve(brakes, u, 0, 3, limits), Brakes::Limit::None);
    EXPECT_EQ(open[1].reserve(brakes, u, 0, 2, limits), Brakes::Limit::Recipients);
    EXPECT_EQ(open[1].reserve(brakes, u, 0, 1, limits), Brakes::Limit::None);
    EXPECT_EQ(open[0].recipients(), 4u);
    // Transaction 1 is abandoned (RSET): its message and recipient come back.
    open[1].release();
    EXPECT_EQ(open[2].reserve(brakes, u, 1, 1, limits), Brakes::Limit::None);
    // Transaction 0 is queued: what it held is now sent and stays counted.
    open[0].commit();
    open[0].release();   // nothing left to give back
    EXPECT_EQ(brakes.would_exceed(u, 1, 0, limits), Brakes::Limit::Messages);
    open[2].release();
    EXPECT_EQ(brakes.would_exceed(u, 1, 0, limits), Brakes::Limit::None);
    EXPECT_EQ(brakes.would_exceed(u, 0, 1, limits), Brakes::Limit::None);
    EXPECT_EQ(brakes.would_exceed(u, 0, 2, limits), Brakes::Limit::Recipients);
}

TEST_F(BrakesTest, ReservationsSurviveTheWindowAndDestructionGivesBack) {
    const std::string u = "user:bob";
    {
        Brakes::Reservation r;
        ASSERT_EQ(r.reserve(brakes, u, 2, 0, limits), Brakes::Limit::None);
        now += 61min;   // a new window: held messages still count
        EXPECT_EQ(brakes.would_exceed(u, 1, 0, limits), Brakes::Limit::Messages);
    }   // disconnect
    EXPECT_EQ(brakes.would_exceed(u, 2, 0, limits), Brakes::Limit::None);
}

// What `rampart explain` gets from a running server (usage) decides like reserve() does.
TEST_F(BrakesTest, UsageCountsSentAndHeldAndExceedsDecidesLikeReserve) {
    brakes.count("user:alice", 1, 2);
    Brakes::Reservation held;
    EXPECT_EQ(held.reserve(brakes, "user:alice", 0, 1, limits), Brakes::Limit::None);
    Brakes::Usage u = brakes.usage("user:alice");
    EXPECT_EQ(u.messages, 1u);
    EXPECT_EQ(u.recipients, 3u);
    EXPECT_EQ(Brakes::exceeds(u, 1, 0, limits), Brakes::Limit::None);
    EXPECT_EQ(Brakes::exceeds(u, 2, 0, limits), Brakes::Limit::Messages);
    EXPECT_EQ(Brakes::exceeds(u, 0, 3, limits), Brakes::Limit::Recipients);
    Brakes::Reservation more;
    EXPECT_EQ(more.reserve(brakes, "user:alice", 0, 3, limits), Brakes::exceeds(u, 0, 3, limits));
    EXPECT_EQ(more.reserve(brakes, "user:alice", 0, 2, limits), Brakes::exceeds(u, 0, 2, limits));
    now += Brakes::kRateWindow;   // a new window forgets what was sent, not what is held
    EXPECT_EQ(brakes.usage("user:alice").messages, 0u);
    EXPECT_EQ(brakes.usage("user:alice").recipients, 3u);
    EXPECT_EQ(brakes.usage("user:nobody").messages, 0u);
}
