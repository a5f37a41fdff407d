// [directory] backend = "ldap": the checks that keep passwords inside TLS and the filters sane.
#include <gtest/gtest.h>

#include "config/load.hpp"

using namespace rampart::config;

namespace {
constexpr std::string_view kBase = R"([[listeners]]
name = "a"
bind = ["127.0.0.1:2525"]

[directory]
backend = "ldap"
ldap_base_dn = "dc=example,dc=test"
)";

std::string errors_of(const std::string& extra) {
    auto r = load_text(std::string(kBase) + extra, "test.toml", "/tmp");
    std::string out;
    if (auto* e = std::get_if<std::vector<ConfigError>>(&r))
        for (auto& x : *e) out += x.text() + "\n";
    return out;
}
}  // namespace

TEST(LdapSettings, LoopbackPlainAndTlsAreAccepted) {
    EXPECT_EQ(errors_of("ldap_uri = \"ldap://127.0.0.1:3389\"\n"), "");
    EXPECT_EQ(errors_of("ldap_uri = \"ldaps://ldap.example.test\"\n"), "");
    EXPECT_EQ(errors_of("ldap_uri = \"ldap://ldap.example.test\"\nldap_starttls = true\n"), "");
    auto r = load_text(std::string(kBase) + "ldap_uri = \"ldap://127.0.0.1\"\nldap_address_attributes = [\"mail\", \"mailAlternateAddress\"]\n"
                       "ldap_refresh_interval = \"30s\"\n", "test.toml", "/tmp");
    ASSERT_TRUE(std::holds_alternative<Config>(r));
    const DirectorySettings& d = std::get<Config>(r).directory;
    EXPECT_EQ(d.ldap_address_attributes.size(), 2u);
    EXPECT_EQ(d.ldap_refresh_interval, std::chrono::seconds(30));
    EXPECT_EQ(d.ldap_user_filter, "(objectClass=inetOrgPerson)");
}

TEST(LdapSettings, ClearTextToARemoteServerIsRefused) {
    std::string e = errors_of("ldap_uri = \"ldap://ldap.example.test\"\n");
    EXPECT_NE(e.find("directory.ldap_uri: passwords would cross the network in clear"), std::string::npos) << e;
}

TEST(LdapSettings, MissingPiecesAreNamed) {
    std::string e = errors_of("ldap_bind_dn = \"cn=svc,dc=example,dc=test\"\nldap_user_filter = \"objectClass=person\"\n");
    EXPECT_NE(e.find("directory.ldap_uri: backend = \"ldap\" needs the LDAP server"), std::string::npos) << e;
    EXPECT_NE(e.find("directory.ldap_bind_password_file"), std::string::npos) << e;
    EXPECT_NE(e.find("directory.ldap_user_filter"), std::string::npos) << e;
    EXPECT_NE(errors_of("ldap_uri = \"http://x\"\n").find("is not an ldap:// or ldaps:// URI"), std::string::npos);
}
