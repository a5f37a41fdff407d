#include "mime/zip.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

using namespace rampart::mime;
using namespace std::string_literals;

namespace {

std::string le16(std::size_t v) { return {char(v), char(v >> 8)}; }
std::string le32(std::size_t v) { return {char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; }

std::string deflate_raw(std::string_view data) {
    z_stream zs{};
    deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&zs, data.size()), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

struct Entry {
    std::string name, data;
    bool deflate = false;
    bool encrypted = false;
};

// A minimal zip writer (APPNOTE 4.3): local headers, central directory, end record.
std::string make_zip(const std::vector<Entry>& entries, bool with_directory = true) {
    std::string out, central;
    for (const Entry& e : entries) {
        std::string stored = e.deflate ? deflate_raw(e.data) : e.data;
        std::uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(e.data.data()), static_cast<uInt>(e.data.size()));
        std::string common = le16(20) + le16(e.encrypted ? 1 : 0) + le16(e.deflate ? 8 : 0) + le16(0) + le16(0) +
                             le32(crc) + le32(stored.size()) + le32(e.data.size()) + le16(e.name.size()) + le16(0);
        central += "PK\x01\x02"s + le16(20) + common + le16(0) + le16(0) + le16(0) + le32(0) + le32(out.size()) + e.name;
        out += "PK\x03\x04"s + common + e.name + stored;
    }
    if (!with_directory) return out;
    std::size_t cd_offset = out.size();
    out += central;
    out += "PK\x05\x06"s + le16(0) + le16(0) + le16(entries.size()) + le16(entries.size()) + le32(central.size()) +
           le32(cd_offset) + le16(0);
    return out;
}

const std::string mz = "MZ\x90\x00"s + std::string(100, 'x');

}  // namespace

TEST(Zip, ListsStoredAndDeflatedMembersWithTypes) {
    std::string z = make_zip({{"readme.txt", "hello\n", false}, {"dir/", "", false}, {"setup.exe", mz, true},
                              {"secret.bin", "xxxx", false, true}});
    ZipListing l = list_zip(z);
    EXPECT_FALSE(l.malformed) << l.problem;
    EXPECT_FALSE(l.truncated);
    ASSERT_EQ(l.members.size(), 4u);
    EXPECT_EQ(l.members[0].name, "readme.txt");
    EXPECT_EQ(l.members[0].sniffed.mime, "text/plain");
    EXPECT_TRUE(l.members[1].directory);
    EXPECT_EQ(l.members[2].name, "setup.exe");
    EXPECT_EQ(l.members[2].method, 8);
    EXPECT_TRUE(l.members[2].sniffed_ok);
    EXPECT_EQ(l.members[2].sniffed.mime, "application/x-dosexec");
    EXPECT_TRUE(l.members[3].encrypted);
    EXPECT_FALSE(l.members[3].sniffed_ok);
}

TEST(Zip, NameLongerThanTheLimitIsMarkedCut) {
    std::string z = make_zip({{std::string(2000, 'a') + ".exe", mz, false}, {"ok.txt", "x", false}});
    ZipListing l = list_zip(z);
    ASSERT_EQ(l.members.size(), 2u);
    EXPECT_TRUE(l.members[0].name_cut);
    EXPECT_EQ(l.members[0].name.size(), ZipLimits{}.max_name_bytes);
    EXPECT_FALSE(l.members[1].name_cut);
}

TEST(Zip, NestedZipsToTheDepthLimit) {
    std::string inner = make_zip({{"payload.exe", mz, true}});
    std::string middle = make_zip({{"inner.zip", inner, true}});
    std::string outer = make_zip({{"middle.zip", middle, false}});
    ZipListing l = list_zip(outer);
    ASSERT_EQ(l.members.size(), 3u) << l.problem;
    EXPECT_EQ(l.members[2].name, "payload.exe");
    EXPECT_EQ(l.members[2].depth, 2u);
    EXPECT_EQ(l.members[2].parent, 1u);
    EXPECT_EQ(l.members[2].sniffed.mime, "application/x-dosexec");
    ZipLimits shallow;
    shallow.max_depth = 2;
    ZipListing s = list_zip(outer, shallow);
    EXPECT_EQ(s.members.size(), 2u);
    EXPECT_TRUE(s.truncated);
}

TEST(Zip, BombIsBoundedByTheInflateBudget) {
    // a.zip deflates to ~20 KiB but is a 20 MiB zip: listing it needs all of it, which the
    // budget refuses; the listing says so instead of inflating it.
    std::string inner = make_zip({{"zeros.bin", std::string(20u << 20, '\0'), false}});
    std::string outer = make_zip({{"a.zip", inner, true}, {"b.txt", "b", false}});
    ASSERT_LT(outer.size(), 1u << 20);
    ZipLimits lim;
    lim.max_inflated_total = 1u << 20;
    ZipListing l = list_zip(outer, lim);
    EXPECT_TRUE(l.truncated) << l.problem;
    ASSERT_GE(l.members.size(), 2u);
    EXPECT_EQ(l.members.front().name, "a.zip");
    EXPECT_EQ(l.members.back().name, "b.txt");   // the outer list goes on
}

TEST(Zip, WithoutCentralDirectoryWalksLocalHeaders) {
    std::string z = make_zip({{"a.txt", "aaa", false}, {"b.exe", mz, false}}, false);
    ZipListing l = list_zip(z);
    EXPECT_TRUE(l.malformed);
    ASSERT_EQ(l.members.size(), 2u);
    EXPECT_EQ(l.members[1].sniffed.mime, "application/x-dosexec");
}

TEST(Zip, MemberLimit) {
    std::vector<Entry> many;
    for (int i = 0; i < 50; ++i) many.push_back({"f" + std::to_string(i), "x", false});
    ZipLimits lim;
    lim.max_members = 10;
    ZipListing l = list_zip(make_zip(many), lim);
    EXPECT_EQ(l.members.size(), 10u);
    EXPECT_TRUE(l.truncated);
}

TEST(Zip, EveryTruncationAndCorruptionIsSafe) {
    std::string z = make_zip({{"a.txt", "hello hello hello", true}, {"b/c.zip", make_zip({{"d", mz, true}}), false}});
    for (std::size_t n = 0; n <= z.size(); ++n) {
        std::unique_ptr<unsigned char[]> exact(new unsigned char[n + 1]);
        std::copy(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(n), exact.get());
        (void)list_zip(std::span<const unsigned char>(exact.get(), n));
    }
    for (std::size_t i = 0; i < z.size(); ++i) {
        std::string bad = z;
        bad[i] = static_cast<char>(bad[i] ^ 0xA5);
        (void)list_zip(bad);
    }
}

TEST(Zip, OverlappingEntriesCannotMultiplyWork) {
    // 5,000 central directory entries all naming one stored nested zip of 60 KiB.
    std::string inner = make_zip({{"pad.bin", std::string(60000, 'p'), false}});
    std::string z = make_zip({{"n.zip", inner, false}});
    std::size_t cd = z.size() - 22 - (46 + 5);
    std::string entry = z.substr(cd, 46 + 5);
    std::string central;
    for (int i = 0; i < 5000; ++i) central += entry;
    std::string bomb = z.substr(0, cd) + central + "PK\x05\x06"s + le16(0) + le16(0) + le16(5000) + le16(5000) +
                       le32(central.size()) + le32(cd) + le16(0);
    ZipLimits lim;
    lim.max_inflated_total = 4u << 20;
    ZipListing l = list_zip(bomb, lim);
    EXPECT_TRUE(l.truncated) << l.problem;
    EXPECT_LE(l.members.size(), 5000u + 5000u);
}
