#include "server/fd_limits.hpp"

#include <sys/resource.h>

#include <gtest/gtest.h>

#include "admin/http_server.hpp"
#include "config/load_helpers.hpp"

using namespace rampart;
using rampart::config::test::config_of;
using std::chrono::milliseconds;

namespace {
const char* kTwoListeners = R"([[listeners]]
name = "a"
bind = ["127.0.0.1:2525"]
limits = { max_connections = 300 }
[[listeners]]
name = "b"
bind = ["127.0.0.1:2587"]
limits = { max_connections = 100 }
[queue]
delivery_concurrency = 50
)";
}  // namespace

TEST(DescriptorPlan, FitsWithRoomToSpare) {
    config::Config c = config_of(kTwoListeners);
    server::DescriptorPlan p = server::plan_descriptors(c, 65536, 20, 4);
    // [admin] bind is on by default: its socket and its 64 connections are kept too.
    EXPECT_EQ(p.reserve, server::kReserveFixed + 4 * server::kReservePerThread + admin::HttpServer::kMaxConnections + 1);
    EXPECT_EQ(p.wanted, 20 + p.reserve + 2 * 50 + 2 * (300 + 100));
    EXPECT_TRUE(p.advice.empty());
    EXPECT_EQ(p.delivery_concurrency, 50u);
    EXPECT_GE(p.sessions, 400u);   // the gate never binds before the listeners' own limits
}

TEST(DescriptorPlan, TheAdminListenerIsCountedOnlyWhenItListens) {
    config::Config on = config_of(kTwoListeners);
    config::Config off = config_of(std::string(kTwoListeners) + "[admin]\nbind = \"\"\n");
    ASSERT_FALSE(off.admin.bind);
    server::DescriptorPlan with = server::plan_descriptors(on, 65536, 20, 1), without = server::plan_descriptors(off, 65536, 20, 1);
    EXPECT_EQ(with.reserve - without.reserve, admin::HttpServer::kMaxConnections + 1);
    EXPECT_EQ(with.wanted - without.wanted, admin::HttpServer::kMaxConnections + 1);
}

TEST(DescriptorPlan, ShortLimitSharesAndAdvises) {
    config::Config c = config_of(kTwoListeners);
    server::DescriptorPlan p = server::plan_descriptors(c, 128, 20, 2);
    ASSERT_FALSE(p.advice.empty());
    EXPECT_NE(p.advice.find("300 on \"a\", 100 on \"b\""), std::string::npos) << p.advice;
    EXPECT_NE(p.advice.find("ulimit -Hn"), std::string::npos) << p.advice;
    EXPECT_NE(p.advice.find(std::to_string(p.wanted)), std::string::npos) << p.advice;
    // Everything admitted at once fits in the limit, with the reserve kept.
    EXPECT_LE(p.in_use + p.reserve + server::kDescriptorsPerSession * p.sessions +
                  server::kDescriptorsPerDelivery * p.delivery_concurrency,
              p.limit);
    EXPECT_GE(p.sessions, 1u);
    EXPECT_GE(p.delivery_concurrency, 1u);
    EXPECT_LT(p.delivery_concurrency, 50u);
    // Below what even the reserve needs: still one of each, and the advice says so.
    server::DescriptorPlan tiny = server::plan_descriptors(c, 16, 20, 2);
    EXPECT_EQ(tiny.sessions, 1u);
    EXPECT_EQ(tiny.delivery_concurrency, 1u);
    EXPECT_FALSE(tiny.advice.empty());
}

TEST(AcceptBackoff, GrowsToOneSecondAndCountsTheEpisode) {
    server::AcceptBackoff b;
    EXPECT_EQ(b.succeeded(), 0u);   // no episode
    EXPECT_EQ(b.failed(), milliseconds(100));
    EXPECT_EQ(b.failures(), 1u);    // the one to log
    EXPECT_EQ(b.failed(), milliseconds(200));
    EXPECT_EQ(b.failed(), milliseconds(400));
    EXPECT_EQ(b.failed(), milliseconds(800));
    EXPECT_EQ(b.failed(), milliseconds(1000));
    EXPECT_EQ(b.failed(), milliseconds(1000));
    EXPECT_EQ(b.failures(), 6u);
    EXPECT_EQ(b.succeeded(), 6u);   // logged once at the end, with the count
    EXPECT_EQ(b.failed(), milliseconds(100));   // a new episode starts small again
}

using rampart::server::apply_max_open_files;
using rampart::server::DescriptorLimit;

// server.max_open_files (issue 13): 0 leaves the limits alone; a value the process may set
// becomes both limits; one it may not set leaves them and says why.
TEST(MaxOpenFiles, SetsWhatItMayAndExplainsWhatItMayNot) {
    rlimit before{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
    DescriptorLimit l;
    l.limit = before.rlim_cur;
    l.hard = before.rlim_max;
    apply_max_open_files(0, l);
    EXPECT_EQ(l.limit, before.rlim_cur);
    EXPECT_TRUE(l.error.empty());
    if (before.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "unlimited hard limit";
    // Soft and hard both to the current hard limit: always permitted.
    apply_max_open_files(before.rlim_max, l);
    EXPECT_TRUE(l.error.empty()) << l.error;
    EXPECT_EQ(l.limit, before.rlim_max);
    rlimit now{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
    EXPECT_EQ(now.rlim_cur, before.rlim_max);
    EXPECT_EQ(now.rlim_max, before.rlim_max);
    // Above the hard limit: only with CAP_SYS_RESOURCE; otherwise nothing changes.
    DescriptorLimit up = l;
    apply_max_open_files(before.rlim_max + 1000, up);
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
    if (up.error.empty()) {
        EXPECT_GE(now.rlim_max, before.rlim_max);   // raised (capped at fs.nr_open)
        EXPECT_EQ(up.limit, now.rlim_max);
    } else {
        EXPECT_NE(up.error.find("server.max_open_files"), std::string::npos) << up.error;
        EXPECT_EQ(up.limit, before.rlim_max);
        EXPECT_EQ(now.rlim_max, before.rlim_max);
    }
    ::setrlimit(RLIMIT_NOFILE, &before);   // the soft limit back, for the other tests
}
