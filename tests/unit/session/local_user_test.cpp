// tests/unit/session/local_user_test.cpp — the principal of `rampart sendmail`'s caller.
#include "session/local_user.hpp"

#include <gtest/gtest.h>

#include "directory/directory.hpp"

namespace rampart::session {
namespace {

directory::Directory with_alice() {
    directory::Directory d;
    d.users.push_back(directory::User{"alice", {"alice@example.test"}, {"apps"}, "", false, {}, ""});
    d.groups.push_back(directory::Group{"apps", {"user:alice"}});
    return d;
}

TEST(LocalPrincipal, UnixUserWithoutDirectoryEntryOwnsNameAtHostname) {
    policy::Principal p = local_principal(LocalUser{1001, "www-data", false}, nullptr, "MX.Example.test");
    EXPECT_EQ(p.text(), "user:www-data");
    EXPECT_EQ(p.mechanism, "LOCAL");
    EXPECT_EQ(p.addresses, std::vector<std::string>{"www-data@mx.example.test"});
    EXPECT_TRUE(p.groups.empty());
    EXPECT_FALSE(p.send_as_any);
}

TEST(LocalPrincipal, DirectoryUserOfTheSameNameLendsGroupsAndAddresses) {
    directory::Directory d = with_alice();
    policy::Principal p = local_principal(LocalUser{1002, "alice", false}, &d, "mx.test");
    EXPECT_EQ(p.groups, std::vector<std::string>{"apps"});
    EXPECT_EQ(p.addresses, (std::vector<std::string>{"alice@example.test", "alice@mx.test"}));
    EXPECT_FALSE(p.send_as_any);
}

TEST(LocalPrincipal, RootAndTheServerUserMaySendAsAny) {
    EXPECT_TRUE(local_principal(LocalUser{0, "root", true}, nullptr, "mx.test").send_as_any);
}

}  // namespace
}  // namespace rampart::session
