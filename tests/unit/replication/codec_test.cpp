// Unit tests: the replication message codec — round trip, strictness, bounds, truncation.
#include "replication/codec.hpp"

#include <gtest/gtest.h>

namespace rampart::replication {
namespace {

Message sample() {
    Message m;
    m.kind = Kind::Recipients;
    m.serial = 7;
    m.base = 6;
    m.hub = "hub.example.test";
    m.added = {"rcpt " + std::string(64, 'a'), "orgkey " + std::string(64, '0')};
    m.removed = {"rcpt " + std::string(64, 'b')};
    m.signature = std::string(64, '\x01');
    return m;
}

TEST(ReplicationCodec, RoundTrip) {
    Message m = sample();
    std::string bytes = encode(m);
    auto d = decode(bytes);
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d->kind, Kind::Recipients);
    EXPECT_EQ(d->serial, 7u);
    EXPECT_EQ(d->base, 6u);
    EXPECT_EQ(d->hub, "hub.example.test");
    EXPECT_EQ(d->added, m.added);
    EXPECT_EQ(d->removed, m.removed);
    EXPECT_EQ(d->signature, m.signature);
    EXPECT_EQ(signed_part(*d), signed_part(m));
    EXPECT_EQ(encode(*d), bytes);
}

TEST(ReplicationCodec, TruncatedAnywhereIsAnError) {
    std::string bytes = encode(sample());
    for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(decode(bytes.substr(0, n))) << n;
}

TEST(ReplicationCodec, RefusesMalformedFields) {
    std::string good = encode(sample());
    auto broken = [&](std::string from, std::string to) {
        std::string b = good;
        b.replace(b.find(from), from.size(), to);
        return decode(b);
    };
    EXPECT_FALSE(broken("kind recipients", "kind users"));
    EXPECT_FALSE(broken("serial 7", "serial 0"));
    EXPECT_FALSE(broken("serial 7", "serial 07"));
    EXPECT_FALSE(broken("base 6", "base 7"));           // base must be below serial
    EXPECT_FALSE(broken("entries 3", "entries 4"));     // a missing entry
    EXPECT_FALSE(broken("entries 3", "entries 2"));     // an extra line where the signature belongs
    EXPECT_FALSE(broken("- rcpt", "* rcpt"));
    EXPECT_FALSE(broken("rampart-replication 1", "rampart-replication 2"));
    EXPECT_FALSE(decode(good + "x"));                   // bytes after the signature
    std::string ctl = good;
    ctl.replace(ctl.find("orgkey"), 1, "\x01");
    EXPECT_FALSE(decode(ctl));
}

TEST(ReplicationCodec, SnapshotCannotRemove) {
    Message m = sample();
    m.base = 0;
    EXPECT_FALSE(decode(encode(m)));
    m.removed.clear();
    EXPECT_TRUE(decode(encode(m)));
}

TEST(ReplicationCodec, EntryCountBounded) {
    std::string b = "rampart-replication 1\nkind config\nserial 2\nbase 0\nhub h\nentries 99999999999\n";
    auto d = decode(b);
    ASSERT_FALSE(d);
    EXPECT_NE(d.error().message.find("entries"), std::string::npos);
}

TEST(ReplicationCodec, Hex) {
    std::string raw;
    EXPECT_TRUE(from_hex(to_hex(std::string_view("\x00\xff\x10", 3)), raw));
    EXPECT_EQ(raw, std::string("\x00\xff\x10", 3));
    EXPECT_FALSE(from_hex("abc", raw));
    EXPECT_FALSE(from_hex("zz", raw));
    EXPECT_FALSE(from_hex("AB", raw));   // one spelling per value
}

TEST(ReplicationCodec, CanonicalOrderOnly) {
    // A "+" after a "-" would re-encode differently from what was signed: refused.
    std::string b = encode(sample());
    std::size_t minus = b.find("- rcpt");
    std::string line = b.substr(minus, b.find('\n', minus) + 1 - minus);
    b.erase(minus, line.size());
    b.insert(b.find("+ rcpt"), line);
    EXPECT_FALSE(decode(b));
}

}  // namespace
}  // namespace rampart::replication
