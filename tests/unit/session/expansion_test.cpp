// Alias expansion at acceptance: final recipients, ORCPT and the alias they came from.
#include "session/expansion.hpp"

#include "directory/mailbox.hpp"

#include <gtest/gtest.h>

#include "directory/sample_directory.hpp"

using namespace rampart;
using namespace rampart::session;

namespace {

struct ExpansionTest : ::testing::Test, test::SampleDirectory {
    queue::Recipient rcpt(std::string a, std::string orcpt = "") {
        queue::Recipient r;
        r.address = std::move(a);
        r.notify = 0;
        r.orcpt = std::move(orcpt);
        return r;
    }
    std::vector<std::string> addresses(const std::vector<queue::Recipient>& v) {
        std::vector<std::string> out;
        for (const auto& r : v) out.push_back(r.address);
        return out;
    }
};

}  // namespace

TEST_F(ExpansionTest, ExpansionReplacesAliasesKeepsOthersAndSetsOrcpt) {
    auto out = expand_recipients(dir, domains, {rcpt("bob@example.test"), rcpt("Sales@example.test"), rcpt("x@outside.test")});
    EXPECT_EQ(addresses(out), (std::vector<std::string>{"bob@example.test", "alice@example.test", "ext@outside.test", "x@outside.test"}));
    EXPECT_EQ(out[0].orcpt, "");
    EXPECT_EQ(out[1].orcpt, "rfc822;Sales@example.test");
    EXPECT_EQ(out[2].orcpt, "rfc822;Sales@example.test");
    // Members remember their alias, as the client named it (reports name only the alias).
    EXPECT_EQ(out[0].alias, "");
    EXPECT_EQ(out[1].alias, "Sales@example.test");
    EXPECT_EQ(out[2].alias, "Sales@example.test");
    EXPECT_EQ(out[3].alias, "");
}

TEST_F(ExpansionTest, ExpansionKeepsAGivenOrcptAndNotify) {
    queue::Recipient r = rcpt("staff@example.test", "rfc822;boss+2Bx@example.test");
    r.notify = 6;
    auto out = expand_recipients(dir, domains, {r});
    ASSERT_EQ(out.size(), 3u);
    for (const auto& n : out) {
        EXPECT_EQ(n.orcpt, "rfc822;boss+2Bx@example.test");
        EXPECT_EQ(n.notify, 6u);
    }
}

TEST_F(ExpansionTest, LoopingAliasStaysForDeliveryToReport) {
    auto out = expand_recipients(dir, domains, {rcpt("loop@example.test")});
    EXPECT_EQ(addresses(out), (std::vector<std::string>{"loop@example.test"}));
    EXPECT_EQ(directory::resolve(&dir, "loop@example.test").kind, directory::Resolved::Kind::AliasLoop);
}

TEST_F(ExpansionTest, AliasesOnlyExpandInAuthoritativeDomains) {
    dir.aliases.push_back({"x@partner.test", {"bob@example.test"}});
    auto out = expand_recipients(dir, domains, {rcpt("x@partner.test")});
    EXPECT_EQ(addresses(out), (std::vector<std::string>{"x@partner.test"}));
}

TEST_F(ExpansionTest, QuotedAliasIsExpanded) {
    auto out = expand_recipients(dir, domains, {rcpt("\"staff\"@example.test")});
    EXPECT_EQ(addresses(out), (std::vector<std::string>{"alice@example.test", "bob@example.test", "ext@outside.test"}));
    // A quoted and an unquoted spelling of one recipient are one recipient.
    out = expand_recipients(dir, domains, {rcpt("bob@example.test"), rcpt("\"bob\"@example.test")});
    EXPECT_EQ(addresses(out), (std::vector<std::string>{"bob@example.test"}));
}
