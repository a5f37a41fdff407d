// Kerberos principal → directory user or server, and the directory's `kerberos` lists.
#include "auth/kerberos_map.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "directory/directory.hpp"

using namespace rampart;
using Kind = policy::Principal::Kind;

namespace {

directory::Directory sample() {
    directory::Directory d;
    d.users.push_back({"alice", {"alice@example.test"}, {}, "", false, {"alice@EXAMPLE.TEST", "a.smith@OTHER.TEST"}, {}});
    d.users.push_back({"bob", {"bob@example.test"}, {}, "", true, {}, {}});
    d.groups.push_back({"staff", {"user:alice"}});
    d.servers.push_back({"hub", {}, "", {"smtp/hub.example.test@EXAMPLE.TEST"}});
    return d;
}

std::variant<directory::Directory, std::vector<std::string>> load(const std::string& text) {
    char tmpl[] = "/tmp/rampart-krb-XXXXXX";
    std::filesystem::path dir = mkdtemp(tmpl);
    std::ofstream(dir / "directory.toml") << text;
    auto r = directory::Directory::load(dir / "directory.toml");
    std::filesystem::remove_all(dir);
    return r;
}

}  // namespace

TEST(KerberosMap, ExplicitUserListWithGroupsAndAddresses) {
    auto d = sample();
    for (const char* p : {"alice@EXAMPLE.TEST", "a.smith@OTHER.TEST"}) {
        auto m = auth::map_kerberos(d, p, "");
        ASSERT_TRUE(m) << p;
        EXPECT_EQ(m->rule, "users.kerberos");
        EXPECT_EQ(m->principal.kind, Kind::User);
        EXPECT_EQ(m->principal.name, "alice");
        EXPECT_EQ(m->principal.groups, (std::vector<std::string>{"staff"}));
        EXPECT_EQ(m->principal.addresses, (std::vector<std::string>{"alice@example.test"}));
    }
}

TEST(KerberosMap, ServerPrincipalIsAnOrganisationServer) {
    auto m = auth::map_kerberos(sample(), "smtp/hub.example.test@EXAMPLE.TEST", "EXAMPLE.TEST");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->rule, "servers.kerberos");
    EXPECT_EQ(m->principal.kind, Kind::Server);
    EXPECT_EQ(m->principal.text(), "server:hub");
}

TEST(KerberosMap, DefaultRealmRuleOnlyWhenConfiguredAndOnlyPlainNames) {
    auto d = sample();
    EXPECT_FALSE(auth::map_kerberos(d, "bob@EXAMPLE.TEST", ""));             // rule off
    auto m = auth::map_kerberos(d, "bob@EXAMPLE.TEST", "EXAMPLE.TEST");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->rule, "kerberos.realm");
    EXPECT_EQ(m->principal.text(), "user:bob");
    EXPECT_TRUE(m->principal.send_as_any);
    EXPECT_FALSE(auth::map_kerberos(d, "bob@OTHER.TEST", "EXAMPLE.TEST"));   // foreign realm
    EXPECT_FALSE(auth::map_kerberos(d, "bob@example.test", "EXAMPLE.TEST")); // realms are case-sensitive
    EXPECT_FALSE(auth::map_kerberos(d, "bob/admin@EXAMPLE.TEST", "EXAMPLE.TEST"));  // instance
    EXPECT_FALSE(auth::map_kerberos(d, "smtp/bob@EXAMPLE.TEST", "EXAMPLE.TEST"));
    EXPECT_FALSE(auth::map_kerberos(d, "carol@EXAMPLE.TEST", "EXAMPLE.TEST")); // no such user
    EXPECT_FALSE(auth::map_kerberos(d, "@EXAMPLE.TEST", "EXAMPLE.TEST"));
    EXPECT_FALSE(auth::map_kerberos(d, "EXAMPLE.TEST", "EXAMPLE.TEST"));
}

TEST(KerberosMap, PrincipalsCompareExactly) {
    auto d = sample();
    EXPECT_FALSE(auth::map_kerberos(d, "Alice@EXAMPLE.TEST", ""));
    EXPECT_FALSE(auth::map_kerberos(d, "alice@EXAMPLE.TEST.", ""));
    EXPECT_FALSE(auth::map_kerberos(d, "alice", ""));
    EXPECT_FALSE(auth::map_kerberos(d, "", "EXAMPLE.TEST"));
}

TEST(KerberosMap, DirectoryListsRoundTripAndAreChecked) {
    auto d = sample();
    auto loaded = load(d.to_toml());
    ASSERT_TRUE(std::holds_alternative<directory::Directory>(loaded));
    auto& l = std::get<directory::Directory>(loaded);
    EXPECT_EQ(l.users[0].kerberos, d.users[0].kerberos);
    EXPECT_EQ(l.servers[0].kerberos, d.servers[0].kerberos);

    auto bad = load("[[users]]\nname = \"a\"\nkerberos = [\"a\", \"a@\"]\n"
                    "[[users]]\nname = \"b\"\nkerberos = [\"x@R\"]\n"
                    "[[servers]]\nname = \"s\"\nkerberos = [\"x@R\"]\n");
    ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(bad));
    auto& errors = std::get<std::vector<std::string>>(bad);
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_NE(errors[0].find("\"a\" is not a full Kerberos principal"), std::string::npos);
    EXPECT_NE(errors[1].find("\"a@\" is not a full Kerberos principal"), std::string::npos);
    EXPECT_NE(errors[2].find("x@R is listed twice"), std::string::npos);
}
