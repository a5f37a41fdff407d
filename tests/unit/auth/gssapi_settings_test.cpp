// [kerberos] settings and the warnings `rampart check` prints for integrated authentication.
#include "auth/gssapi.hpp"

#include <gtest/gtest.h>

#include "config/load.hpp"

using namespace rampart;

namespace {
constexpr std::string_view kBase = R"([server]
role = "gateway"
hostname = "mx1.example.test"
[[listeners]]
name = "in"
bind = ["127.0.0.1:2525"]
[[listeners]]
name = "plain"
bind = ["127.0.0.1:2526"]
auth = { integrated = false }
)";

config::LoadResult load(std::string extra) {
    return config::load_text(std::string(kBase) + extra, "test.toml", "/etc/rampart");
}
}  // namespace

TEST(GssapiSettings, DefaultsAndResolution) {
    auto r = load("[kerberos]\nkeytab = \"smtp.keytab\"\nrealm = \"EXAMPLE.TEST\"\n");
    ASSERT_TRUE(std::holds_alternative<config::Config>(r));
    auto& c = std::get<config::Config>(r);
    EXPECT_EQ(c.kerberos.service, "smtp");
    EXPECT_EQ(c.kerberos.realm, "EXAMPLE.TEST");
    auto s = auth::gssapi_settings(c);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->keytab, "/etc/rampart/smtp.keytab");   // relative to the configuration file
    EXPECT_EQ(s->service, "smtp");
    EXPECT_EQ(s->hostname, "mx1.example.test");
}

TEST(GssapiSettings, BadServiceAndUnknownKeyAreErrors) {
    auto r = load("[kerberos]\nservice = \"smtp/mx\"\nkeytabs = \"x\"\n");
    ASSERT_TRUE(std::holds_alternative<std::vector<config::ConfigError>>(r));
    auto& e = std::get<std::vector<config::ConfigError>>(r);
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].key, "kerberos.service");
    EXPECT_EQ(e[1].key, "kerberos.keytabs");
}

TEST(GssapiSettings, IntegratedWithoutKeytabWarnsPerListener) {
    auto r = load("");
    ASSERT_TRUE(std::holds_alternative<config::Config>(r));
    auto& c = std::get<config::Config>(r);
    EXPECT_FALSE(auth::gssapi_settings(c));
    auto w = auth::integrated_warnings(c);
    ASSERT_EQ(w.size(), 1u);   // "in" takes the gateway preset (integrated on); "plain" is off
    EXPECT_NE(w[0].find("listeners[0] (in): auth.integrated is on but kerberos.keytab is not set"), std::string::npos);
}

TEST(GssapiSettings, UnreadableKeytabWarns) {
    auto r = load("[kerberos]\nkeytab = \"/nonexistent/smtp.keytab\"\n");
    ASSERT_TRUE(std::holds_alternative<config::Config>(r));
    auto w = auth::integrated_warnings(std::get<config::Config>(r));
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("cannot read /nonexistent/smtp.keytab"), std::string::npos);
}

TEST(GssapiSettings, AcceptorWithoutKeytabIsUnavailableNotFailed) {
    auth::GssapiAcceptor a({"/nonexistent/smtp.keytab", "smtp", "mx1.example.test"});
    auth::GssapiStep s = a.accept("\x60\x01\x00");
    EXPECT_EQ(s.kind, auth::GssapiStep::Kind::Unavailable);   // 454: our fault, not the client's
    std::string error;
    EXPECT_FALSE(a.wrap_offer(error));                        // no context, no offer
    EXPECT_EQ(a.accept("").kind, auth::GssapiStep::Kind::Failed);   // an empty token is the client's fault
}
