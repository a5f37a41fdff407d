// The edge subscription file: rendered and parsed back; every malformed key refused with
// its line; RFC 3339 times.
#include "config/subscription.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "net/tls.hpp"

namespace rampart::config {
namespace {

std::string self_signed_pem() {
    static std::string pem = [] {
        std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sub_test_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        EXPECT_TRUE(net::write_self_signed(dir / "c.pem", dir / "k.pem", "edge1.example.test"));
        std::ifstream in(dir / "c.pem");
        std::stringstream ss;
        ss << in.rdbuf();
        std::filesystem::remove_all(dir);
        return ss.str();
    }();
    return pem;
}

Subscription sample() {
    Subscription s;
    s.edge_name = "edge1.example.test";
    s.sync_address = "192.0.2.25:50636";
    s.smtp_address = "192.0.2.25:25";
    s.certificate = self_signed_pem();
    s.secret = std::string(43, 'A');
    s.expires = *parse_rfc3339("2030-01-02T03:04:05Z");
    return s;
}

std::vector<ConfigError> errors_of(const std::string& text) {
    auto r = parse_subscription(text, "sub.toml");
    if (auto* e = std::get_if<std::vector<ConfigError>>(&r)) return *e;
    return {};
}

TEST(SubscriptionTest, RendersAndParsesBack) {
    Subscription s = sample();
    s.added = *parse_rfc3339("2029-12-31T00:00:00Z");
    auto r = parse_subscription(render_subscription(s), "sub.toml");
    ASSERT_TRUE(std::holds_alternative<Subscription>(r)) << std::get<1>(r).front().text();
    const Subscription& p = std::get<Subscription>(r);
    EXPECT_EQ(p.edge_name, s.edge_name);
    EXPECT_EQ(p.sync_address, s.sync_address);
    EXPECT_EQ(p.smtp_address, s.smtp_address);
    EXPECT_EQ(p.secret, s.secret);
    EXPECT_EQ(p.expires, s.expires);
    EXPECT_EQ(p.added, s.added);
    EXPECT_EQ(p.fingerprint.size(), 64u);
}

TEST(SubscriptionTest, OptionalHubName) {
    Subscription s = sample();
    EXPECT_EQ(render_subscription(s).find("hub_name"), std::string::npos);   // absent unless asked for
    s.hub_name = "hub.example.test";
    auto r = parse_subscription(render_subscription(s), "sub.toml");
    ASSERT_TRUE(std::holds_alternative<Subscription>(r)) << std::get<1>(r).front().text();
    EXPECT_EQ(std::get<Subscription>(r).hub_name, "hub.example.test");
    s.hub_name = "not a name";
    auto bad = parse_subscription(render_subscription(s), "sub.toml");
    ASSERT_TRUE(std::holds_alternative<std::vector<rampart::config::ConfigError>>(bad));
    EXPECT_NE(std::get<1>(bad).front().text().find("subscription.hub_name"), std::string::npos) << std::get<1>(bad).front().text();
}

TEST(SubscriptionTest, EachBadKeyIsNamedWithItsLine) {
    std::string text = render_subscription(sample());
    auto replace = [&](const std::string& from, const std::string& to) {
        std::string t = text;
        t.replace(t.find(from), from.size(), to);
        return t;
    };
    struct Case {
        std::string text, key, problem;
        int line;
    } cases[] = {
        {replace("\"192.0.2.25:25\"", "\"192.0.2.25\""), "subscription.smtp_address", "is not host:port", 5},
        {replace("\"192.0.2.25:50636\"", "\"0.0.0.0:50636\""), "subscription.sync_address", "wildcard", 4},
        {replace(std::string(43, 'A'), "short"), "subscription.secret", "not a bootstrap secret", 6},
        {replace("2030-01-02T03:04:05Z", "tomorrow"), "subscription.expires", "RFC 3339", 7},
        {replace("edge1.example.test\"", "edge one\""), "subscription.edge_name", "not a host name", 3},
        {replace("-----BEGIN CERTIFICATE-----", "-----BEGIN GARBAGE-----"), "subscription.certificate", "not a PEM certificate", 8},
        {replace("-----BEGIN CERTIFICATE-----", "-----BEGIN PRIVATE KEY-----"), "subscription.certificate", "private key", 8},
        {replace("secret = ", "secrets = "), "subscription.secrets", "unknown key", 6},
    };
    for (const Case& c : cases) {
        std::vector<ConfigError> e = errors_of(c.text);
        ASSERT_FALSE(e.empty()) << c.key;
        bool found = false;
        for (const ConfigError& x : e)
            if (x.key == c.key && x.text().find(c.problem) != std::string::npos && x.line == c.line) found = true;
        EXPECT_TRUE(found) << c.key << ": " << e.front().text();
    }
    EXPECT_EQ(errors_of("[server]\nrole = \"edge\"\n").front().problem, "no [subscription] table");
    std::vector<ConfigError> missing = errors_of("[subscription]\nedge_name = \"e.test\"\n");
    EXPECT_EQ(missing.size(), 5u);
}

TEST(SubscriptionTest, Rfc3339) {
    auto t = parse_rfc3339("2026-12-01T22:52:03Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(format_rfc3339(*t), "2026-12-01T22:52:03Z");
    EXPECT_FALSE(parse_rfc3339("2026-12-01T22:52:03+01:00"));
    EXPECT_FALSE(parse_rfc3339("2026-13-01T22:52:03Z"));
    EXPECT_FALSE(parse_rfc3339(""));
}

TEST(SubscriptionTest, HostPort) {
    EXPECT_EQ(parse_host_port("edge1.example.test:25")->host, "edge1.example.test");
    EXPECT_EQ(parse_host_port("[2001:db8::25]:2526")->port, 2526);
    EXPECT_FALSE(parse_host_port("2001:db8::25:25"));
    EXPECT_FALSE(parse_host_port("host:0"));
    EXPECT_FALSE(parse_host_port("host:"));
}

}  // namespace
}  // namespace rampart::config
