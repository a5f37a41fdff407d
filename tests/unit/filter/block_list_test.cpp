// The dynamic block list: matching, expiry, replacement, persistence (atomic file).
#include "filter/block_list.hpp"

#include <filesystem>
#include <unistd.h>

#include <gtest/gtest.h>

#include "util/file_io.hpp"

using namespace rampart;
using filter::BlockList;

namespace {
net::IpAddress ip(const char* s) { return *net::IpAddress::parse(s); }
net::Cidr cidr(const char* s) { return *net::Cidr::parse(s); }

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string t = (std::filesystem::temp_directory_path() / "rampart-blocklist-XXXXXX").string();
        path = mkdtemp(t.data());
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};
}  // namespace

TEST(BlockList, MatchesPrefixesUntilExpiry) {
    BlockList l;
    auto now = std::chrono::system_clock::now();
    ASSERT_TRUE(l.add(cidr("198.51.100.0/24"), now + std::chrono::hours(1), "spam run", "operator"));
    ASSERT_TRUE(l.add(cidr("2001:db8::/32"), std::nullopt, "", "reputation"));
    auto e = l.find(ip("198.51.100.7"), now);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->prefix.text(), "198.51.100.0/24");
    EXPECT_EQ(e->reason, "spam run");
    EXPECT_EQ(e->source, "operator");
    EXPECT_FALSE(l.find(ip("198.51.101.7"), now));
    EXPECT_TRUE(l.find(ip("2001:db8::5"), now + std::chrono::hours(1000)));
    // Expired: ignored.
    EXPECT_FALSE(l.find(ip("198.51.100.7"), now + std::chrono::hours(1)));
    EXPECT_EQ(l.entries(now + std::chrono::hours(2)).size(), 1u);
}

TEST(BlockList, AddReplacesTheSamePrefixAndRemoveLiftsIt) {
    BlockList l;
    ASSERT_TRUE(l.add(cidr("192.0.2.1"), std::nullopt, "first", "operator"));
    ASSERT_TRUE(l.add(cidr("192.0.2.1/32"), std::nullopt, "second\tline\nbreak", "operator"));
    ASSERT_EQ(l.entries().size(), 1u);
    EXPECT_EQ(l.entries()[0].reason, "second line break");
    auto r = l.remove(cidr("192.0.2.1"));
    ASSERT_TRUE(r);
    EXPECT_TRUE(*r);
    EXPECT_FALSE(l.find(ip("192.0.2.1")));
    r = l.remove(cidr("192.0.2.1"));
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);
}

TEST(BlockList, PersistedAndReadBackExpiredEntriesPruned) {
    TempDir d;
    auto file = d.path / filter::kBlockListFile;
    auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    {
        BlockList l(file);
        ASSERT_TRUE(l.load());   // no file yet: empty
        ASSERT_TRUE(l.add(cidr("198.51.100.7"), now + std::chrono::hours(24), "seen spamming", "operator"));
        ASSERT_TRUE(l.add(cidr("203.0.113.0/24"), std::nullopt, "", "reputation"));
    }
    EXPECT_FALSE(std::filesystem::exists(file.string() + ".tmp"));
    BlockList again(file);
    ASSERT_TRUE(again.load());
    auto e = again.entries(now);
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].prefix.text(), "198.51.100.7/32");
    EXPECT_EQ(*e[0].expires, now + std::chrono::hours(24));
    EXPECT_EQ(e[0].reason, "seen spamming");
    EXPECT_FALSE(e[1].expires);
    EXPECT_EQ(e[1].source, "reputation");
    // An entry that expired while the file sat there is pruned at load and at the next write.
    auto past = filter::format_block_list({filter::BlockEntry{cidr("192.0.2.9"), now - std::chrono::seconds(5), now, "operator", "old"}});
    ASSERT_TRUE(util::write_file_atomic(file, past));
    BlockList pruned(file);
    ASSERT_TRUE(pruned.load());
    EXPECT_TRUE(pruned.entries().empty());
}

TEST(BlockList, MalformedFileNamesTheLine) {
    auto r = filter::parse_block_list("# comment\n192.0.2.1\t0\t0\toperator\t\nnot-an-ip\t0\t0\tx\ty\n", "block_list");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "block_list:3: \"not-an-ip\" is not an address or prefix");
    r = filter::parse_block_list("192.0.2.1\t0\n", "f");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("f:1: expected 5 tab-separated fields"), std::string::npos);
    r = filter::parse_block_list("192.0.2.1\tsoon\t0\toperator\t\n", "f");
    ASSERT_FALSE(r);
}
