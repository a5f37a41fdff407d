#include <gtest/gtest.h>

#include "directory/ldap_directory.hpp"
#include "directory/safe_senders.hpp"
#include "smtp/address.hpp"

using namespace rampart;
using directory::LdapEntry;

namespace {

LdapEntry entry(std::string dn, std::map<std::string, std::vector<std::string>> attrs) {
    return LdapEntry{std::move(dn), std::move(attrs)};
}

const directory::User* find(const directory::Directory& d, const std::string& name) { return d.user(name); }

}  // namespace

TEST(LdapFilter, EscapesTheFiveSpecialsAndNonAscii) {
    EXPECT_EQ(directory::escape_filter_value("alice"), "alice");
    EXPECT_EQ(directory::escape_filter_value("*"), "\\2a");
    EXPECT_EQ(directory::escape_filter_value("a)(uid=*"), "a\\29\\28uid=\\2a");
    EXPECT_EQ(directory::escape_filter_value("back\\slash"), "back\\5cslash");
    EXPECT_EQ(directory::escape_filter_value(std::string("nul\0x", 5)), "nul\\00x");
    EXPECT_EQ(directory::escape_filter_value("J\xc3\xbcrgen"), "J\\c3\\bcrgen");
    EXPECT_EQ(directory::escape_filter_value(""), "");
}

TEST(LdapDn, NormalisesSpacingAndCase) {
    EXPECT_EQ(directory::normalize_dn("UID=Alice, OU=People,dc=Example,DC=test"), "uid=alice,ou=people,dc=example,dc=test");
    EXPECT_EQ(directory::normalize_dn("uid=alice,ou=people,dc=example,dc=test"),
              directory::normalize_dn("uid=alice, ou=people, dc=example, dc=test"));
    EXPECT_EQ(directory::normalize_dn("alice"), "");      // a memberUid value, not a DN
    EXPECT_EQ(directory::normalize_dn(""), "");
    EXPECT_EQ(directory::normalize_dn("=broken,,"), "");
}

TEST(LdapMapping, UsersGroupsAddressesAndNestedMembers) {
    config::DirectorySettings s;
    s.ldap_address_attributes = {"mail", "proxyAddresses"};
    s.ldap_kerberos_attribute = "userPrincipalName";
    s.ldap_send_as_any_group = "senders";
    std::vector<LdapEntry> users = {
        entry("uid=alice,ou=people,dc=example,dc=test",
              {{"uid", {"alice"}}, {"mail", {"alice@example.test"}},
               {"proxyaddresses", {"SMTP:alice@example.test", "smtp:a.example@example.test", "X400:c=us"}},
               {"userprincipalname", {"alice@EXAMPLE.TEST"}}}),
        entry("uid=bob,ou=people,dc=example,dc=test", {{"uid", {"bob"}}, {"mail", {"bob@example.test"}}}),
        entry("uid=carol,ou=people,dc=example,dc=test", {{"uid", {"carol"}}}),
    };
    std::vector<LdapEntry> groups = {
        entry("cn=apps,ou=groups,dc=example,dc=test", {{"cn", {"apps"}}, {"member", {"UID=Bob, OU=people, DC=example, DC=test"}}}),
        entry("cn=relay-apps,ou=groups,dc=example,dc=test",
              {{"cn", {"relay-apps"}}, {"member", {"cn=apps,ou=groups,dc=example,dc=test", "uid=ghost,ou=people,dc=example,dc=test"}}}),
        entry("cn=senders,ou=groups,dc=example,dc=test", {{"cn", {"senders"}}, {"member", {"cn=relay-apps,ou=groups,dc=example,dc=test"}}}),
        entry("cn=posix,ou=groups,dc=example,dc=test", {{"cn", {"posix"}}, {"member", {"carol"}}}),
    };
    directory::LdapSnapshot snap = directory::build_directory(users, groups, s);
    const directory::Directory& d = snap.directory;
    EXPECT_TRUE(snap.warnings.empty());
    ASSERT_EQ(d.users.size(), 3u);
    const directory::User* alice = find(d, "alice");
    ASSERT_NE(alice, nullptr);
    EXPECT_EQ(alice->dn, "uid=alice,ou=people,dc=example,dc=test");
    EXPECT_EQ(alice->addresses, (std::vector<std::string>{"alice@example.test", "a.example@example.test"}));
    EXPECT_EQ(alice->kerberos, (std::vector<std::string>{"alice@EXAMPLE.TEST"}));
    EXPECT_TRUE(alice->password.empty());
    EXPECT_FALSE(alice->send_as_any);
    const directory::Group* relay = d.group("relay-apps");
    ASSERT_NE(relay, nullptr);
    EXPECT_EQ(relay->members, (std::vector<std::string>{"group:apps"}));  // the unknown DN is dropped
    EXPECT_EQ(d.groups_of("bob"), (std::vector<std::string>{"apps", "relay-apps", "senders"}));
    EXPECT_TRUE(find(d, "bob")->send_as_any);
    EXPECT_EQ(d.groups_of("carol"), (std::vector<std::string>{"posix"}));
    EXPECT_TRUE(find(d, "carol")->addresses.empty());
}

TEST(LdapMapping, EntriesWithoutOrWithSharedNamesAreLeftOut) {
    config::DirectorySettings s;
    std::vector<LdapEntry> users = {
        entry("uid=x,ou=a,dc=example,dc=test", {{"uid", {"dup"}}}),
        entry("uid=x,ou=b,dc=example,dc=test", {{"uid", {"dup"}}}),
        entry("cn=nameless,dc=example,dc=test", {{"mail", {"n@example.test"}}}),
        entry("uid=ok,dc=example,dc=test", {{"uid", {"ok"}}}),
    };
    std::vector<LdapEntry> groups = {entry("cn=g,dc=example,dc=test", {{"cn", {"g"}}, {"member", {"uid=x,ou=a,dc=example,dc=test"}}})};
    directory::LdapSnapshot snap = directory::build_directory(users, groups, s);
    ASSERT_EQ(snap.directory.users.size(), 1u);
    EXPECT_EQ(snap.directory.users[0].name, "ok");
    EXPECT_EQ(snap.warnings.size(), 2u);
    EXPECT_TRUE(snap.directory.group("g")->members.empty());  // the ambiguous user is not a member
}

TEST(LdapMapping, AttributeNamesAreCaseInsensitive) {
    config::DirectorySettings s;
    s.ldap_user_attribute = "sAMAccountName";
    s.ldap_address_attributes = {"Mail"};
    std::vector<LdapEntry> users = {entry("cn=Alice,dc=example,dc=test", {{"samaccountname", {"alice"}}, {"mail", {"alice@example.test"}}})};
    directory::LdapSnapshot snap = directory::build_directory(users, {}, s);
    ASSERT_EQ(snap.directory.users.size(), 1u);
    EXPECT_EQ(snap.directory.users[0].addresses, (std::vector<std::string>{"alice@example.test"}));
}

TEST(LdapMapping, SafeSendersFromAnAttribute) {
    config::DirectorySettings s;
    s.ldap_safe_senders_attribute = "rampartSafeSender";
    std::vector<LdapEntry> users = {
        entry("uid=alice,dc=example,dc=test", {{"uid", {"alice"}}, {"mail", {"alice@example.test"}},
                                               {"rampartsafesender", {"Boss@Partner.test", "friends.test", "not an address@"}}}),
        entry("uid=bob,dc=example,dc=test", {{"uid", {"bob"}}, {"mail", {"bob@example.test"}}}),
    };
    directory::LdapSnapshot snap = directory::build_directory(users, {}, s);
    const directory::Directory& d = snap.directory;
    ASSERT_EQ(d.safe_senders.count("alice"), 1u);
    EXPECT_EQ(d.safe_senders.at("alice"), (std::vector<std::string>{"Boss@Partner.test", "friends.test"}));
    EXPECT_EQ(d.safe_senders.count("bob"), 0u);
    ASSERT_EQ(snap.warnings.size(), 1u);   // the bad entry is left out and said
    EXPECT_NE(snap.warnings[0].find("not an address@"), std::string::npos) << snap.warnings[0];
    // The look-up the content filter uses: case-insensitive, domains too.
    EXPECT_TRUE(directory::lists_safe_sender(d, "alice@example.test", *smtp::parse_mailbox("boss@partner.test")));
    EXPECT_TRUE(directory::lists_safe_sender(d, "alice@example.test", *smtp::parse_mailbox("x@friends.test")));
    EXPECT_FALSE(directory::lists_safe_sender(d, "bob@example.test", *smtp::parse_mailbox("x@friends.test")));
    // Off by default: the attribute is neither asked for nor read.
    directory::LdapSnapshot off = directory::build_directory(users, {}, config::DirectorySettings{});
    EXPECT_TRUE(off.directory.safe_senders.empty());
}
