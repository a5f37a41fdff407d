// tests/unit/server/privileges_test.cpp — who `serve` runs as (the drop itself is proven
// by tests/integration/test_privileges.py: it cannot be undone inside a test process).
#include "server/privileges.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

namespace rampart::server {
namespace {

TEST(PlanRunAs, RunAsRootOrNotRootMeansNoDrop) {
    config::ServerSettings s;
    s.user = "rampart-no-such-user";
    s.run_as_root = true;
    auto r = plan_run_as(s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->has_value());
}

TEST(PlanRunAs, MissingUserNamesTheSettings) {
    config::ServerSettings s;
    s.user = "rampart-no-such-user";
    auto r = plan_run_as(s);
    if (::geteuid() != 0) {   // nothing to drop: not root
        ASSERT_TRUE(r);
        EXPECT_FALSE(r->has_value());
        return;
    }
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("server.user: no Unix user \"rampart-no-such-user\""), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("run_as_root"), std::string::npos);
}

TEST(PlanRunAs, RootIsNotAnUnprivilegedUser) {
    config::ServerSettings s;
    s.user = "root";
    auto r = plan_run_as(s);
    if (::geteuid() != 0) return;
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("is root"), std::string::npos);
}

}  // namespace
}  // namespace rampart::server
