// [admin]: the loopback default, "" turns it off, and a non-loopback bind without TLS and a
// token is a load error naming the line, the key and the fix.
#include "config/load.hpp"

#include <gtest/gtest.h>

#include "load_helpers.hpp"

using namespace rampart::config;
using rampart::config::test::config_of;
using rampart::config::test::errors_of;

TEST(AdminSettings, LoopbackByDefault) {
    Config c = config_of("");
    ASSERT_TRUE(c.admin.bind);
    EXPECT_EQ(c.admin.bind->text(), "127.0.0.1:2580");
    EXPECT_TRUE(c.admin.token_file.empty());
}

TEST(AdminSettings, EmptyBindTurnsItOff) {
    EXPECT_FALSE(config_of("[admin]\nbind = \"\"\n").admin.bind);
}

TEST(AdminSettings, LoopbackNeedsNothingElse) {
    EXPECT_EQ(config_of("[admin]\nbind = \"[::1]:9100\"\n").admin.bind->port, 9100);
    EXPECT_TRUE(errors_of("[admin]\nbind = \"127.0.0.2:9100\"\n").empty());
}

TEST(AdminSettings, NonLoopbackNeedsTlsAndToken) {
    auto e = errors_of("\n[admin]\nbind = \"0.0.0.0:2580\"\ntoken_file = \"t\"\n");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].line, 2);
    EXPECT_EQ(e[0].key, "admin.bind");
    EXPECT_NE(e[0].problem.find("not loopback"), std::string::npos) << e[0].text();
    EXPECT_NE(e[0].fix.find("admin.tls_certificate"), std::string::npos);
    EXPECT_EQ(errors_of("[admin]\nbind = \"[::]:2580\"\ntls_certificate = \"c\"\ntls_key = \"k\"\n").size(), 1u);
    EXPECT_TRUE(errors_of("[admin]\nbind = \"192.0.2.1:2580\"\ntls_certificate = \"c\"\ntls_key = \"k\"\ntoken_file = \"t\"\n").empty());
}

TEST(AdminSettings, BadValuesAreReported) {
    EXPECT_EQ(errors_of("[admin]\nbind = \"localhost:2580\"\n").at(0).key, "admin.bind");
    EXPECT_EQ(errors_of("[admin]\nbind = \"127.0.0.1\"\n").at(0).key, "admin.bind");
    EXPECT_EQ(errors_of("[admin]\ntls_certificate = \"c\"\n").at(0).key, "admin.tls_key");
    EXPECT_EQ(errors_of("[admin]\ncolour = 1\n").at(0).key, "admin.colour");
}

TEST(AdminSettings, ConsoleGroupAndSessionLifetime) {
    Config d = config_of("");
    EXPECT_EQ(d.admin.console_group, "rampart-admins");
    EXPECT_EQ(d.admin.console_session_lifetime, std::chrono::hours(8));
    Config c = config_of("[admin]\nconsole_group = \"mail-admins\"\nconsole_session_lifetime = \"30m\"\n");
    EXPECT_EQ(c.admin.console_group, "mail-admins");
    EXPECT_EQ(c.admin.console_session_lifetime, std::chrono::minutes(30));
    auto e = errors_of("[admin]\nconsole_group = \"\"\n");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].key, "admin.console_group");
    EXPECT_EQ(e[0].line, 2);
    EXPECT_EQ(errors_of("[admin]\nconsole_session_lifetime = \"soon\"\n").at(0).key, "admin.console_session_lifetime");
}
