#include "directory/mailbox.hpp"

#include <gtest/gtest.h>

using namespace rampart;
using namespace rampart::directory;

namespace {

Directory sample() {
    Directory d;
    d.users.push_back({"alice", {"alice@example.test", "a.smith@example.test"}, {}, "", false, {}, {}});
    d.users.push_back({"bob", {"bob@example.test"}, {}, "", false, {}, {}});
    d.aliases.push_back({"postmaster@example.test", {"user:alice", "ops@outside.test"}});
    d.aliases.push_back({"staff@example.test", {"team@example.test", "bob@example.test"}});
    d.aliases.push_back({"team@example.test", {"Alice@Example.Test", "staff@example.test"}});   // loop back
    d.aliases.push_back({"loop1@other.test", {"loop2@other.test"}});
    d.aliases.push_back({"loop2@other.test", {"loop1@other.test"}});
    return d;
}

}  // namespace

TEST(Mailbox, LookupIgnoresCaseInLocalPartAndDomain) {
    Directory d = sample();
    EXPECT_EQ(lookup(d, "ALICE@example.TEST").user, d.user("alice"));
    EXPECT_EQ(lookup(d, "a.smith@example.test").user, d.user("alice"));
    EXPECT_NE(lookup(d, "Staff@Example.Test").alias, nullptr);
    EXPECT_FALSE(lookup(d, "carol@example.test").known());
    EXPECT_FALSE(lookup(d, "alice@outside.test").known());
}

TEST(Mailbox, CoversOnlyDomainsWithEntries) {
    Directory d = sample();
    EXPECT_TRUE(covers_domain(d, "EXAMPLE.test"));
    EXPECT_TRUE(covers_domain(d, "other.test"));    // aliases count too
    EXPECT_FALSE(covers_domain(d, "empty.test"));
    EXPECT_FALSE(covers_domain(Directory{}, "example.test"));
}

TEST(Mailbox, AliasExpandsToUserAndRemoteTargets) {
    Expansion e = expand(sample(), "postmaster@example.test");
    EXPECT_EQ(e.addresses, (std::vector<std::string>{"alice@example.test", "ops@outside.test"}));
    EXPECT_FALSE(e.loop);
}

TEST(Mailbox, NestedAliasesExpandOnceWithLoopProtection) {
    Expansion e = expand(sample(), "staff@example.test");
    // staff → team → (Alice, staff: already expanded) ; bob. Duplicates by case are folded.
    EXPECT_EQ(e.addresses, (std::vector<std::string>{"Alice@Example.Test", "bob@example.test"}));
    EXPECT_TRUE(e.loop);
}

TEST(Mailbox, PureLoopExpandsToNothing) {
    Expansion e = expand(sample(), "loop1@other.test");
    EXPECT_TRUE(e.addresses.empty());
    EXPECT_TRUE(e.loop);
}

TEST(Mailbox, DepthIsBounded) {
    Directory d;
    for (int i = 0; i < 50; ++i)
        d.aliases.push_back({"a" + std::to_string(i) + "@x.test", {"a" + std::to_string(i + 1) + "@x.test"}});
    Expansion e = expand(d, "a0@x.test");
    EXPECT_TRUE(e.addresses.empty());
    EXPECT_TRUE(e.loop);
    Expansion shallow = expand(d, "a45@x.test");
    EXPECT_EQ(shallow.addresses, (std::vector<std::string>{"a50@x.test"}));
}

TEST(Mailbox, NonAliasExpandsToItself) {
    EXPECT_EQ(expand(sample(), "bob@example.test").addresses, (std::vector<std::string>{"bob@example.test"}));
    EXPECT_EQ(expand(sample(), "x@outside.test").addresses, (std::vector<std::string>{"x@outside.test"}));
}

TEST(Mailbox, Postmaster) {
    EXPECT_TRUE(is_postmaster("PostMaster"));
    EXPECT_FALSE(is_postmaster("postmasters"));
}
