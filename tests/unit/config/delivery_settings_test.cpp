#include <gtest/gtest.h>

#include "config/load.hpp"

using namespace rampart::config;

namespace {
const char* kBase = R"([[domains]]
name = "example.test"
[[domains]]
name = "partner.test"
type = "external-relay"
[[listeners]]
name = "a"
bind = ["127.0.0.1:2525"]
)";

LoadResult load(const std::string& extra) { return load_text(std::string(kBase) + extra, "test.toml", "/tmp"); }

std::string all_errors(const LoadResult& r) {
    std::string out;
    if (auto* e = std::get_if<std::vector<ConfigError>>(&r))
        for (const auto& x : *e) out += x.text() + "\n";
    return out;
}
}  // namespace

TEST(DeliverySettings, DefaultIsMaildir) {
    auto r = load("");
    ASSERT_TRUE(std::holds_alternative<Config>(r)) << all_errors(r);
    EXPECT_EQ(std::get<Config>(r).delivery.method_for("example.test"), LocalDelivery::Maildir);
}

TEST(DeliverySettings, LmtpOverTcpAndUnixSocket) {
    auto r = load("[delivery]\nlocal = \"lmtp\"\nlmtp = \"127.0.0.1\"\n");
    ASSERT_TRUE(std::holds_alternative<Config>(r)) << all_errors(r);
    const Config& c = std::get<Config>(r);
    EXPECT_EQ(c.delivery.method_for("example.test"), LocalDelivery::Lmtp);
    EXPECT_EQ(c.delivery.lmtp.text(), "127.0.0.1:24");
    auto u = load("[delivery]\nper_domain = { \"Example.Test\" = \"lmtp\" }\nlmtp = \"/run/dovecot/lmtp\"\n");
    ASSERT_TRUE(std::holds_alternative<Config>(u)) << all_errors(u);
    const Config& cu = std::get<Config>(u);
    EXPECT_EQ(cu.delivery.local, LocalDelivery::Maildir);
    EXPECT_EQ(cu.delivery.method_for("example.test"), LocalDelivery::Lmtp);
    EXPECT_EQ(cu.delivery.lmtp.text(), "/run/dovecot/lmtp");
}

TEST(DeliverySettings, MistakesAreReportedWithTheFix) {
    std::string e = all_errors(load("[delivery]\nlocal = \"lmtp\"\n"));
    EXPECT_NE(e.find("delivery.lmtp"), std::string::npos) << e;
    e = all_errors(load("[delivery]\nper_domain = { \"partner.test\" = \"maildir\" }\n"));
    EXPECT_NE(e.find("not an authoritative domain"), std::string::npos) << e;
    e = all_errors(load("[delivery]\nlocal = \"mbox\"\nlmtp = \"dovecot\"\n"));
    EXPECT_NE(e.find("test.toml:10"), std::string::npos) << e;   // local = "mbox"
    EXPECT_NE(e.find("test.toml:11"), std::string::npos) << e;   // lmtp = "dovecot"
}
