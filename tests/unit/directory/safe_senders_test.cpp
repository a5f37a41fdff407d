// A user's safe senders: addresses and domains, case and quoting ignored, only for the
// user's own addresses; the directory file reads, checks and writes them back.
#include "directory/safe_senders.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

using namespace rampart;

namespace {

smtp::Mailbox mailbox(const char* text) { return *smtp::parse_mailbox(text); }

directory::Directory sample() {
    directory::Directory d;
    d.users.push_back({"alice", {"alice@example.test", "a.smith@example.test"}, {}, "", false, {}, {}});
    d.users.push_back({"bob", {"bob@example.test"}, {}, "", false, {}, {}});
    d.aliases.push_back({"team@example.test", {"user:alice"}});
    d.safe_senders["alice"] = {"Boss@Partner.test", "friends.test"};
    return d;
}

}  // namespace

TEST(SafeSenders, AddressesAndDomainsOfTheRecipientsUser) {
    auto d = sample();
    EXPECT_TRUE(directory::lists_safe_sender(d, "alice@example.test", mailbox("boss@partner.test")));
    EXPECT_TRUE(directory::lists_safe_sender(d, "A.Smith@Example.Test", mailbox("\"BOSS\"@PARTNER.TEST")));
    EXPECT_TRUE(directory::lists_safe_sender(d, "alice@example.test", mailbox("anyone@friends.test")));
    EXPECT_FALSE(directory::lists_safe_sender(d, "alice@example.test", mailbox("intern@partner.test")));
    EXPECT_FALSE(directory::lists_safe_sender(d, "alice@example.test", mailbox("x@sub.friends.test")));   // the domain only
    EXPECT_FALSE(directory::lists_safe_sender(d, "bob@example.test", mailbox("boss@partner.test")));      // not bob's list
    EXPECT_FALSE(directory::lists_safe_sender(d, "team@example.test", mailbox("boss@partner.test")));     // an alias lists nobody
    EXPECT_FALSE(directory::lists_safe_sender(d, "nobody@example.test", mailbox("boss@partner.test")));
}

TEST(SafeSenders, EntriesAreChecked) {
    EXPECT_EQ(directory::safe_sender_problem("boss@partner.test"), "");
    EXPECT_EQ(directory::safe_sender_problem("partner.test"), "");
    EXPECT_NE(directory::safe_sender_problem(""), "");
    EXPECT_NE(directory::safe_sender_problem("not an address@x"), "");
    EXPECT_NE(directory::safe_sender_problem("bad..domain"), "");
}

TEST(SafeSenders, TheDirectoryFileReadsAndWritesThem) {
    auto dir = std::filesystem::temp_directory_path() / ("rampart-safe-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto file = dir / "directory.toml";
    {
        std::ofstream out(file);
        out << "[[users]]\nname = \"alice\"\naddresses = [\"alice@example.test\"]\nsafe_senders = [\"boss@partner.test\", \"partner2.test\"]\n";
    }
    auto loaded = directory::Directory::load(file);
    ASSERT_TRUE(std::holds_alternative<directory::Directory>(loaded));
    auto& d = std::get<directory::Directory>(loaded);
    EXPECT_TRUE(directory::lists_safe_sender(d, "alice@example.test", mailbox("boss@partner.test")));
    EXPECT_NE(d.to_toml().find("safe_senders = [\"boss@partner.test\", \"partner2.test\"]"), std::string::npos) << d.to_toml();
    {
        std::ofstream out(file);
        out << "[[users]]\nname = \"alice\"\naddresses = [\"alice@example.test\"]\nsafe_senders = [\"not valid@@\"]\n";
    }
    auto bad = directory::Directory::load(file);
    ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(bad));
    EXPECT_NE(std::get<std::vector<std::string>>(bad).front().find("safe_senders"), std::string::npos);
    std::filesystem::remove_all(dir);
}
