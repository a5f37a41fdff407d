// Unit tests: the edge's apply (snapshot, delta, gap, replay, another hub) and its files
// (atomic per kind: a failed or interrupted write leaves the previous snapshot).
#include "replication/replica.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "replication/codec.hpp"
#include "replication/signing.hpp"

namespace rampart::replication {
namespace {

Message msg(std::uint64_t serial, std::uint64_t base, std::vector<std::string> added, std::vector<std::string> removed = {},
            std::string hub = "hub.test") {
    Message m;
    m.kind = Kind::Recipients;
    m.serial = serial;
    m.base = base;
    m.hub = std::move(hub);
    m.added = std::move(added);
    m.removed = std::move(removed);
    return m;
}

TEST(ReplicationApply, SnapshotThenDelta) {
    KindState s;
    auto a = apply(s, msg(1, 0, {"rcpt aa", "rcpt bb"}));
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->serial, 1u);
    EXPECT_EQ(a->entries.size(), 2u);
    auto b = apply(*a, msg(2, 1, {"rcpt cc"}, {"rcpt aa"}));
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(b->entries, (std::set<std::string>{"rcpt bb", "rcpt cc"}));
    // A newer snapshot replaces everything.
    auto c = apply(*b, msg(9, 0, {"rcpt dd"}));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->entries, (std::set<std::string>{"rcpt dd"}));
}

TEST(ReplicationApply, RefusesGapReplayAndAnotherHub) {
    KindState s;
    s.serial = 5;
    s.hub = "hub.test";
    s.entries = {"rcpt aa"};
    auto gap = apply(s, msg(7, 6, {"rcpt bb"}));
    ASSERT_FALSE(gap);
    EXPECT_NE(gap.error().message.find("gap"), std::string::npos);
    auto replay = apply(s, msg(5, 4, {"rcpt bb"}));
    ASSERT_FALSE(replay);
    EXPECT_NE(replay.error().message.find("replay"), std::string::npos);
    EXPECT_FALSE(apply(s, msg(3, 0, {"rcpt bb"})));   // an older snapshot
    auto other = apply(s, msg(6, 5, {"rcpt bb"}, {}, "evil.test"));
    ASSERT_FALSE(other);
    EXPECT_NE(other.error().message.find("evil.test"), std::string::npos);
    EXPECT_FALSE(apply(s, msg(6, 5, {}, {"rcpt zz"})));   // removes what we do not hold
}

TEST(ReplicationReplica, KnowsByHashOnly) {
    std::string key(32, 'k');
    Replica r;
    r.recipients.serial = 1;
    r.recipients.entries = {"orgkey " + to_hex(key), "rcpt " + recipient_hash(key, "alice@example.test")};
    r.config.entries = {"domain example.test authoritative", "route example.test 127.0.0.1:2525", "domain partner.test external-relay"};
    EXPECT_TRUE(r.knows("Alice@Example.TEST"));
    EXPECT_FALSE(r.knows("bob@example.test"));
    ASSERT_EQ(r.domains().size(), 2u);
    EXPECT_EQ(r.domains()[1].type, config::DomainType::ExternalRelay);
    EXPECT_EQ(r.route("example.test").value_or(""), "127.0.0.1:2525");
}

TEST(ReplicationReplica, FailedWriteKeepsThePreviousSnapshot) {
    auto dir = std::filesystem::temp_directory_path() / ("rampart-replica-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    KindState first;
    first.serial = 1;
    first.hub = "hub.test";
    first.entries = {"rcpt aa"};
    ASSERT_TRUE(save_kind(dir, Kind::Recipients, first));
    // The apply of serial 2 fails half way: its temporary file cannot be written.
    std::filesystem::create_directories(dir / "recipients.set.tmp");
    KindState second = first;
    second.serial = 2;
    second.entries.insert("rcpt bb");
    EXPECT_FALSE(save_kind(dir, Kind::Recipients, second));
    auto loaded = load_replica(dir);
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->recipients.serial, 1u);
    EXPECT_EQ(loaded->recipients.entries, first.entries);
    // A crash after a partial write leaves only a stray temporary file: ignored.
    std::filesystem::remove_all(dir / "recipients.set.tmp");
    std::ofstream(dir / "recipients.set.tmp") << "serial 2\nhub hub.test\nrcpt a";
    loaded = load_replica(dir);
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->recipients.serial, 1u);
    // A damaged replica file is an error naming it, never a silent empty set.
    std::ofstream(dir / "config.set") << "serial x\n";
    auto bad = load_replica(dir);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("config.set:1"), std::string::npos);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rampart::replication
