#include <fstream>

#include <gtest/gtest.h>

#include "directory/directory.hpp"

using namespace rampart;

namespace {
std::filesystem::path temp_file(const std::string& text) {
    char tmpl[] = "/tmp/rampart-alias-XXXXXX";
    std::filesystem::path dir = mkdtemp(tmpl);
    std::ofstream(dir / "directory.toml") << text;
    return dir / "directory.toml";
}
}  // namespace

TEST(Aliases, SaveAndLoadRoundTrip) {
    auto path = temp_file("");
    directory::Directory d;
    d.users.push_back({"alice", {"alice@example.test"}, {}, "", false, {}, {}});
    d.aliases.push_back({"postmaster@example.test", {"user:alice", "ops@outside.test"}});
    ASSERT_TRUE(d.save(path).ok());
    auto loaded = directory::Directory::load(path);
    ASSERT_TRUE(std::holds_alternative<directory::Directory>(loaded));
    auto& l = std::get<directory::Directory>(loaded);
    ASSERT_EQ(l.aliases.size(), 1u);
    EXPECT_EQ(l.aliases[0].address, "postmaster@example.test");
    EXPECT_EQ(l.aliases[0].targets, (std::vector<std::string>{"user:alice", "ops@outside.test"}));
    std::filesystem::remove_all(path.parent_path());
}

TEST(Aliases, BadAliasesAreErrors) {
    auto path = temp_file(
        "[[users]]\nname = \"alice\"\naddresses = [\"alice@example.test\"]\n"
        "[[users]]\nname = \"noaddr\"\n"
        "[[aliases]]\naddress = \"nodomain\"\ntargets = [\"user:alice\"]\n"
        "[[aliases]]\naddress = \"a@example.test\"\ntargets = [\"user:ghost\", \"user:noaddr\", \"plainword\"]\n"
        "[[aliases]]\naddress = \"ALICE@example.test\"\ntargets = [\"x@outside.test\"]\n"
        "[[aliases]]\naddress = \"empty@example.test\"\ntargets = []\n");
    auto loaded = directory::Directory::load(path);
    ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(loaded));
    std::string all;
    for (const auto& e : std::get<std::vector<std::string>>(loaded)) all += e + "\n";
    EXPECT_NE(all.find("address \"nodomain\" must be local@domain"), std::string::npos) << all;
    EXPECT_NE(all.find("user:ghost: no such user"), std::string::npos) << all;
    EXPECT_NE(all.find("user:noaddr: the user has no address"), std::string::npos) << all;
    EXPECT_NE(all.find("\"plainword\" must be"), std::string::npos) << all;
    EXPECT_NE(all.find("is also an address of user alice"), std::string::npos) << all;
    EXPECT_NE(all.find("targets must list at least one"), std::string::npos) << all;
    std::filesystem::remove_all(path.parent_path());
}
