#include "config/load.hpp"

#include <gtest/gtest.h>

#include "config/load_helpers.hpp"
#include "config/settings.hpp"

using namespace rampart::config;
using rampart::config::test::config_of;
using rampart::config::test::errors_of;

TEST(ConfigLoad, EmbeddedDefaultLoads) {
    Config c = config_of(default_config_text());
    EXPECT_EQ(c.server.role, Role::AllInOne);
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].bind[0].text(), "127.0.0.1:2525");
    EXPECT_TRUE(c.listeners[0].relay.list.empty());
    EXPECT_FALSE(c.listeners[0].relay.allow_authenticated);
}

TEST(ConfigLoad, AllErrorsAtOnceWithLines) {
    auto errs = errors_of(R"([server]
role = "mailserver"
colour = "blue"

[[listeners]]
name = "a"
bind = ["127.0.0.1:99999"]
limits = { max_message_size = "35XB", command_timeout = "10" }
relay = { list = ["10.0.0.0/33"] }

[nonsense]
)");
    ASSERT_EQ(errs.size(), 7u);
    EXPECT_EQ(errs[0].line, 2);
    EXPECT_EQ(errs[0].key, "server.role");
    EXPECT_NE(errs[0].fix.find("gateway"), std::string::npos);
    EXPECT_EQ(errs[1].key, "server.colour");
    EXPECT_EQ(errs[1].problem, "unknown key");
    std::string all;
    for (auto& e : errs) all += e.text() + "\n";
    EXPECT_NE(all.find("test.toml:7: listeners[0].bind"), std::string::npos) << all;
    EXPECT_NE(all.find("listeners[0].limits.max_message_size"), std::string::npos) << all;
    EXPECT_NE(all.find("listeners[0].limits.command_timeout"), std::string::npos) << all;
    EXPECT_NE(all.find("listeners[0].relay.list"), std::string::npos) << all;
    EXPECT_NE(all.find("test.toml:11: nonsense: unknown section"), std::string::npos) << all;
}

TEST(ConfigLoad, TomlSyntaxErrorNamesLine) {
    auto errs = errors_of("[server]\nrole = \n");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].line, 2);
}

TEST(ConfigLoad, OpenRelayIsRefused) {
    auto errs = errors_of(R"(
[[listeners]]
name = "a"
bind = ["127.0.0.1:2525"]
relay = { mode = "all-except-list", list = [] }
)");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_NE(errs[0].problem.find("open relay"), std::string::npos);
    errs = errors_of(R"(
[[listeners]]
name = "a"
bind = ["127.0.0.1:2525"]
relay = { list = ["0.0.0.0/0"] }
)");
    ASSERT_EQ(errs.size(), 1u);
}

TEST(ConfigLoad, RolePresetsFillListenerDefaults) {
    Config c = config_of(R"(
[server]
role = "mailbox"
[[listeners]]
name = "a"
bind = ["127.0.0.1:2525", "[::1]:2525"]
)");
    EXPECT_FALSE(c.listeners[0].auth.anonymous);
    EXPECT_TRUE(c.listeners[0].auth.integrated);
    EXPECT_EQ(c.listeners[0].bind[1].text(), "[::1]:2525");
    EXPECT_EQ(c.listeners[0].remote_ranges.size(), 2u);
}

TEST(ConfigLoad, SendConnectorNeedsSmarthosts) {
    auto errs = errors_of(R"(
[[listeners]]
name = "a"
bind = ["127.0.0.1:2525"]
[[send_connectors]]
name = "out"
address_spaces = ["*"]
route = "smarthost"
)");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].key, "send_connectors[0].smarthosts");
}

TEST(ConfigLoad, SizesAndDurationsTakeUnits) {
    Config c = config_of(R"(
[[listeners]]
name = "a"
bind = ["127.0.0.1:2525"]
limits = { max_message_size = "10MiB", command_timeout = "30s" }
[[send_connectors]]
name = "out"
address_spaces = ["*", "Example.TEST"]
route = "smarthost"
smarthosts = ["relay.example.test", "192.0.2.1:587"]
)");
    EXPECT_EQ(c.listeners[0].limits.max_message_size, 10u << 20);
    EXPECT_EQ(c.listeners[0].limits.command_timeout, std::chrono::seconds(30));
    EXPECT_EQ(c.send_connectors[0].smarthosts[0].port, 25);
    EXPECT_EQ(c.send_connectors[0].address_spaces[1], "example.test");
}

TEST(ConfigLoad, ReferenceDocumentsEveryTable) {
    std::string ref = settings_reference();
    for (const char* s : {"[server]", "[[listeners]]", "[listeners.limits]", "max_message_size", "allow_authenticated", "[[send_connectors]]"})
        EXPECT_NE(ref.find(s), std::string::npos) << s;
}

TEST(ConfigLoad, DnsSection) {
    const std::string listener = "[[listeners]]\nname = \"a\"\nbind = [\"127.0.0.1:2525\"]\n";
    Config d = config_of(listener);
    EXPECT_TRUE(d.dns.servers.empty());
    EXPECT_EQ(d.dns.timeout, std::chrono::seconds(5));
    Config c = config_of(listener + "[dns]\nservers = [\"127.0.0.1:5353\", \"192.0.2.53\"]\ntimeout = \"2s\"\n");
    ASSERT_EQ(c.dns.servers.size(), 2u);
    EXPECT_EQ(c.dns.servers[0].text(), "127.0.0.1:5353");
    EXPECT_EQ(c.dns.servers[1].text(), "192.0.2.53:53");
    EXPECT_EQ(c.dns.timeout, std::chrono::seconds(2));
    auto errs = errors_of(listener + "[dns]\nservers = [\"[::1]:53\"]\n");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].key, "dns.servers");
    EXPECT_NE(errs[0].problem.find("IPv6"), std::string::npos);
    errs = errors_of(listener + "[dns]\nservers = [\"ns.example.test\"]\n");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].key, "dns.servers");
}

// A document nested 50,000 levels deep (dotted keys and table headers, which toml++ does not
// bound) used to overflow the stack inside the TOML library: `check` exited 139.
TEST(ConfigLoad, DeepNestingIsAnErrorNotACrash) {
    std::string dotted = "[server]\nrole = \"gateway\"\n\nx";
    for (int i = 0; i < 50000; ++i) dotted += ".x";
    dotted += " = 1\n";
    auto errs = errors_of(dotted);
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].line, 4);
    EXPECT_NE(errs[0].problem.find("nested more than 64 levels"), std::string::npos) << errs[0].text();
    std::string header = "# deep\n[";
    for (int i = 0; i < 50000; ++i) header += "a.";
    header += "a]\n";
    errs = errors_of(header);
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].line, 2);
    std::string arrays = "x = " + std::string(50000, '[') + std::string(50000, ']') + "\n";
    errs = errors_of(arrays);
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_NE(errs[0].problem.find("nested more than 64 levels"), std::string::npos) << errs[0].text();
}

// server.hostname goes into the greeting, EHLO, Received headers, HELO to next hops and the
// Kerberos principal; a 4,000-character name used to pass `check` and abort the server at
// its first connection. RFC 1035 §2.3.4: labels of 1-63 letters, digits and hyphens, at
// most 253 characters in all.
TEST(ConfigLoad, HostnameFollowsRfc1035) {
    auto problem = [](const std::string& name) {
        auto errs = errors_of("[server]\n\nhostname = \"" + name + "\"\n");
        if (errs.empty()) return std::string();
        EXPECT_EQ(errs.size(), 1u);
        EXPECT_EQ(errs[0].key, "server.hostname");
        EXPECT_EQ(errs[0].line, 3);
        EXPECT_NE(errs[0].fix.find("mx1.example.test"), std::string::npos) << errs[0].text();
        return errs[0].problem;
    };
    for (const char* good : {"localhost", "mx1.example.test", "MX-1.Example.TEST", "a.b", "1mx.example.test"})
        EXPECT_EQ(problem(good), "") << good;
    std::string label63(63, 'a'), label64(64, 'a');
    EXPECT_EQ(problem(label63 + ".example.test"), "");
    EXPECT_NE(problem(label64 + ".example.test").find("longer than 63"), std::string::npos);
    std::string long_name;   // 4 × 63 + 3 dots = 255 > 253
    for (int i = 0; i < 4; ++i) long_name += (i ? "." : "") + label63;
    EXPECT_NE(problem(long_name).find("longer than 253"), std::string::npos);
    EXPECT_NE(problem(std::string(4000, 'a')).find("longer than 253"), std::string::npos);
    EXPECT_NE(problem("").find("empty"), std::string::npos);
    for (const char* bad : {"mx_1.example.test", "mx1..example.test", ".example.test", "example.test.", "-mx.example.test",
                            "mx-.example.test", "mx 1.example.test", "mx1.example.test\\r\\n250 x", "[192.0.2.1]", "mx\\u00e9.test"})
        EXPECT_NE(problem(bad), "") << bad;
}
