// Unit tests for console/session_store: ids, expiry by lifetime and idle time, the bound.
#include "console/session_store.hpp"

#include <gtest/gtest.h>

#include <set>

namespace rampart::console {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
    SessionStore::Clock::time_point t{std::chrono::hours(1000)};
    SessionStore::Now now() {
        return [this] { return t; };
    }
};

TEST(SessionStore, IdsAndTokensAreUnique256BitHex) {
    FakeClock c;
    SessionStore store(8h, 30min, 1000, c.now());
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        auto s = store.create("admin");
        EXPECT_EQ(s.id.size(), 64u);
        EXPECT_EQ(s.csrf.size(), 64u);
        EXPECT_NE(s.id, s.csrf);
        EXPECT_TRUE(seen.insert(s.id).second);
        EXPECT_TRUE(seen.insert(s.csrf).second);
    }
    EXPECT_EQ(random_token(16).size(), 32u);
}

TEST(SessionStore, FindsLiveSessionAndForgetsDestroyedOrUnknown) {
    FakeClock c;
    SessionStore store(8h, 30min, 1000, c.now());
    auto s = store.create("admin");
    auto found = store.find(s.id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->user, "admin");
    EXPECT_EQ(found->csrf, s.csrf);
    EXPECT_FALSE(store.find(std::string(64, '0')));
    EXPECT_FALSE(store.find(""));
    store.destroy(s.id);
    EXPECT_FALSE(store.find(s.id));
}

TEST(SessionStore, IdleExpiryAndActivityKeepsItAlive) {
    FakeClock c;
    SessionStore store(8h, 30min, 1000, c.now());
    auto s = store.create("admin");
    c.t += 29min;
    EXPECT_TRUE(store.find(s.id));   // seen: the idle time starts again
    c.t += 29min;
    EXPECT_TRUE(store.find(s.id));
    c.t += 30min;
    EXPECT_FALSE(store.find(s.id));
    EXPECT_EQ(store.size(), 0u);
}

TEST(SessionStore, LifetimeEndsEvenAnActiveSession) {
    FakeClock c;
    SessionStore store(1h, 30min, 1000, c.now());
    auto s = store.create("admin");
    for (int i = 0; i < 5; ++i) {
        c.t += 10min;
        EXPECT_TRUE(store.find(s.id));
    }
    c.t += 10min;   // 60 minutes after sign-in
    EXPECT_FALSE(store.find(s.id));
}

TEST(SessionStore, ShorterLifetimeAfterReloadAppliesToOpenSessions) {
    FakeClock c;
    SessionStore store(8h, 30min, 1000, c.now());
    auto s = store.create("admin");
    c.t += 20min;
    EXPECT_TRUE(store.find(s.id));
    store.set_lifetime(15min);
    EXPECT_FALSE(store.find(s.id));
}

TEST(SessionStore, BoundedEvictsTheSessionIdleLongest) {
    FakeClock c;
    SessionStore store(8h, 30min, 3, c.now());
    auto a = store.create("a");
    c.t += 1min;
    auto b = store.create("b");
    c.t += 1min;
    auto d = store.create("d");
    c.t += 1min;
    EXPECT_TRUE(store.find(a.id));   // a is now the most recent, b idle longest
    auto e = store.create("e");
    EXPECT_EQ(store.size(), 3u);
    EXPECT_TRUE(store.find(a.id));
    EXPECT_FALSE(store.find(b.id));
    EXPECT_TRUE(store.find(d.id));
    EXPECT_TRUE(store.find(e.id));
}

}  // namespace
}  // namespace rampart::console
