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
    // A session holds its socket; the brief descriptors are two budgets at full size.
    EXPECT_EQ(p.per_session, 1u);
    EXPECT_EQ(p.per_commit, server::kDescriptorsPerCommit);
    EXPECT_EQ(p.commit_leases, server::kCommitLeases);
    EXPECT_EQ(p.dns_sockets, server::kDnsSockets);
    std::uint64_t local = 2 * c.queue.local_delivery_concurrency;
    EXPECT_EQ(p.wanted, 20 + p.reserve + local + 2 * 50 + (2 * 64 + 32) + 1 * (300 + 100));
    EXPECT_TRUE(p.advice.empty());
    EXPECT_EQ(p.delivery_concurrency, 50u);
    // Everything else goes to sessions: far more than the listeners' own limits.
    EXPECT_EQ(p.sessions, 65536 - (20 + p.reserve + local + 2 * 50 + (2 * 64 + 32)));
}

// Issue 13: under this machine's hard limit of 20,000, 10,000 idle + 2,000 slow connections
// (and the probes) are admitted; at 2 descriptors per session only 9,880 were.
TEST(DescriptorPlan, TwelveThousandSessionsFitInTwentyThousand) {
    config::Config c = config_of(R"([[listeners]]
name = "internet"
bind = ["127.0.0.1:2525"]
limits = { max_connections = 13000 }
)");
    server::DescriptorPlan p = server::plan_descriptors(c, 20000, 40, 2);
    EXPECT_TRUE(p.advice.empty()) << p.advice;
    EXPECT_GE(p.sessions, 13000u);
    EXPECT_EQ(p.in_use + p.reserve + 2 * (c.queue.delivery_concurrency + c.queue.local_delivery_concurrency) +
                  p.commit_budget() + p.dns_sockets + p.per_session * p.sessions,
              p.limit);
}

// Engines and milters cost descriptors: a connection per engine in the commit lease, one
// per milter for the whole session.
TEST(DescriptorPlan, EnginesWidenTheLeaseAndMiltersTheSession) {
    config::Config c = config_of(R"([[listeners]]
name = "internet"
bind = ["127.0.0.1:2525"]
[content_filter]
engine = "rspamd"
[antivirus]
[[antivirus.engines]]
name = "a"
type = "clamd"
address = "127.0.0.1:3310"
[[antivirus.engines]]
name = "b"
type = "clamd"
address = "127.0.0.1:3311"
[[milters]]
name = "dkim"
address = "inet:127.0.0.1:8891"
)");
    server::DescriptorPlan p = server::plan_descriptors(c, 65536, 20, 1);
    EXPECT_EQ(p.per_commit, server::kDescriptorsPerCommit + 3);
    EXPECT_EQ(p.per_session, 2u);
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
    server::DescriptorPlan p = server::plan_descriptors(c, 256, 20, 2);
    ASSERT_FALSE(p.advice.empty());
    EXPECT_NE(p.advice.find("300 on \"a\", 100 on \"b\""), std::string::npos) << p.advice;
    EXPECT_NE(p.advice.find("ulimit -Hn"), std::string::npos) << p.advice;
    EXPECT_NE(p.advice.find(std::to_string(p.wanted)), std::string::npos) << p.advice;
    // Everything admitted at once fits in the limit, with the reserve and both budgets kept.
    EXPECT_LE(p.in_use + p.reserve + 2 * c.queue.local_delivery_concurrency + p.per_session * p.sessions +
                  server::kDescriptorsPerDelivery * p.delivery_concurrency + p.commit_budget() + p.dns_sockets,
              p.limit);
    EXPECT_GE(p.sessions, 1u);
    EXPECT_GE(p.commit_leases, 1u);
    EXPECT_LT(p.commit_leases, server::kCommitLeases);
    EXPECT_GE(p.dns_sockets, 1u);
    EXPECT_GE(p.delivery_concurrency, 1u);
    EXPECT_LT(p.delivery_concurrency, 50u);
    // Sessions cost one descriptor each now: more are admitted than the old 2-per-session
    // plan gave (it admitted (what is left after delivery) / 2).
    EXPECT_GT(p.sessions, (p.limit - p.in_use - p.reserve - 2 * c.queue.local_delivery_concurrency -
                           server::kDescriptorsPerDelivery * p.delivery_concurrency) / 2);
    // Below what even the reserve needs: still one of each, and the advice says so.
    server::DescriptorPlan tiny = server::plan_descriptors(c, 16, 20, 2);
    EXPECT_EQ(tiny.sessions, 1u);
    EXPECT_EQ(tiny.delivery_concurrency, 1u);
    EXPECT_EQ(tiny.commit_leases, 1u);
    EXPECT_EQ(tiny.dns_sockets, 1u);
    EXPECT_FALSE(tiny.advice.empty());
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
