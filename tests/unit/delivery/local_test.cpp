#include "delivery/local.hpp"
#include "directory/mailbox.hpp"

#include <gtest/gtest.h>

#include "directory/sample_directory.hpp"

using namespace rampart;
using namespace rampart::delivery;
using Kind = LocalMailbox::Kind;

namespace {

struct LocalTest : ::testing::Test, test::SampleDirectory {
};

}  // namespace

TEST_F(LocalTest, UserAddressResolvesToTheUsersMaildir) {
    LocalMailbox m = resolve_local(&dir, domains, "ALICE@Example.Test");
    EXPECT_EQ(m.kind, Kind::User);
    EXPECT_EQ(m.user, "Alice");
    EXPECT_EQ(m.maildir, "alice");
    EXPECT_EQ(m.address, "alice@example.test");   // the directory's spelling, for LMTP
    EXPECT_EQ(m.domain, "example.test");
}

TEST_F(LocalTest, UnknownAddressInCoveredDomain) {
    EXPECT_EQ(resolve_local(&dir, domains, "carol@example.test").kind, Kind::Unknown);
}

TEST_F(LocalTest, DomainWithoutEntriesIsCatchall) {
    LocalMailbox m = resolve_local(&dir, domains, "Someone@OPEN.test");
    EXPECT_EQ(m.kind, Kind::Catchall);
    EXPECT_EQ(m.maildir, std::filesystem::path("open.test") / "someone");
    EXPECT_EQ(resolve_local(nullptr, domains, "carol@example.test").kind, Kind::Catchall);   // no directory
}

TEST_F(LocalTest, PostmasterFallsBackToItsOwnMailbox) {
    LocalMailbox m = resolve_local(&dir, domains, "PostMaster@example.test");
    EXPECT_EQ(m.kind, Kind::Postmaster);
    EXPECT_EQ(m.maildir, "postmaster");
    EXPECT_EQ(resolve_local(&dir, domains, "Postmaster").kind, Kind::Postmaster);
    dir.aliases.push_back({"postmaster@example.test", {"user:bob"}});
    // <Postmaster> is looked up as postmaster@<first authoritative domain>: an alias.
    EXPECT_EQ(resolve_local(&dir, domains, "Postmaster").kind, Kind::Alias);
}

// ---- Quoted local parts (issue 14 item 8): one mailbox, one key, every look-up ----
TEST_F(LocalTest, QuotedLocalPartsAreTheSameMailbox) {
    LocalMailbox m = resolve_local(&dir, domains, "\"alice\"@example.test");
    EXPECT_EQ(m.kind, Kind::User);
    EXPECT_EQ(m.address, "alice@example.test");
    EXPECT_EQ(resolve_local(&dir, domains, "\"b\\ob\"@Example.Test").kind, Kind::User);
    EXPECT_EQ(resolve_local(&dir, domains, "\"postmaster\"@example.test").kind, Kind::Postmaster);
    EXPECT_EQ(resolve_local(&dir, domains, "\"carol\"@example.test").kind, Kind::Unknown);
    LocalMailbox c = resolve_local(&dir, domains, "\"Any.One\"@open.test");
    EXPECT_EQ(c.kind, Kind::Catchall);
    EXPECT_EQ(c.maildir, std::filesystem::path("open.test") / "any.one");
}

TEST_F(LocalTest, RcptAndDeliveryClassifyAlike) {
    // directory::resolve is the one classification: RCPT's rule and delivery both use it.
    for (const char* a : {"alice@example.test", "\"alice\"@example.test", "\"sales\"@example.test", "carol@example.test",
                          "\"loop\"@example.test", "x@open.test", "\"postmaster\"@example.test"}) {
        directory::Resolved r = directory::resolve(&dir, a);
        LocalMailbox m = resolve_local(&dir, domains, a);
        using RK = directory::Resolved::Kind;
        bool rcpt_accepts = r.kind != RK::Unknown && r.kind != RK::AliasLoop;
        bool delivery_refuses = m.kind == Kind::Unknown || m.kind == Kind::Alias;
        // An accepted alias is expanded before delivery; every other accepted address is delivered.
        if (r.kind != RK::Alias) {
            EXPECT_EQ(rcpt_accepts, !delivery_refuses) << a;
        }
    }
}
