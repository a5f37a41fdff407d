// tests/unit/config/server_settings_test.cpp — [server] user, run_as_root, local_submission.
#include <gtest/gtest.h>

#include "config/load.hpp"
#include "load_helpers.hpp"

namespace rampart::config {
namespace {

using test::config_of;
using test::errors_of;

TEST(ServerSettings, Defaults) {
    Config c = config_of("[server]\nhostname = \"mx.test\"\n");
    EXPECT_EQ(c.server.user, "rampart");
    EXPECT_FALSE(c.server.run_as_root);
    EXPECT_EQ(c.server.local_submission, "submission");
}

TEST(ServerSettings, Read) {
    Config c = config_of("[server]\nuser = \"mail\"\nrun_as_root = true\nlocal_submission = \"\"\n");
    EXPECT_EQ(c.server.user, "mail");
    EXPECT_TRUE(c.server.run_as_root);
    EXPECT_TRUE(c.server.local_submission.empty());
}

TEST(ServerSettings, DefaultLocalSubmissionWithoutSuchListenerIsOff) {
    // gateway: one listener "internet"; the default names none, which turns it off quietly.
    EXPECT_TRUE(errors_of("[server]\nrole = \"gateway\"\n").empty());
}

TEST(ServerSettings, ExplicitLocalSubmissionMustNameAListener) {
    auto errors = errors_of("[server]\nrole = \"gateway\"\nlocal_submission = \"submision\"\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].text().find("test.toml:3: server.local_submission: no listener named \"submision\""), std::string::npos)
        << errors[0].text();
    EXPECT_TRUE(errors_of("[server]\nrole = \"gateway\"\nlocal_submission = \"internet\"\n").empty());
}

TEST(ServerSettings, EmptyUserIsAnError) {
    auto errors = errors_of("[server]\nuser = \"\"\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].text().find("server.user"), std::string::npos) << errors[0].text();
}

}  // namespace
}  // namespace rampart::config
