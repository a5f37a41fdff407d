// Unit tests: signatures over replication messages, HMAC normalisation of addresses, keys
// made once with mode 0600, the bootstrap secret's encoding.
#include "replication/signing.hpp"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "replication/codec.hpp"

namespace rampart::replication {
namespace {

std::filesystem::path temp_dir() {
    auto d = std::filesystem::temp_directory_path() / ("rampart-signing-" + std::to_string(::getpid()) + "-" +
                                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
}

TEST(ReplicationSigning, SignVerifyAndTamper) {
    auto dir = temp_dir();
    auto key = load_or_create_signing_key(dir / "hub" / "sign.key");
    ASSERT_TRUE(key) << key.error().message;
    struct stat st{};
    ASSERT_EQ(::stat((dir / "hub" / "sign.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto again = load_or_create_signing_key(dir / "hub" / "sign.key");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->public_hex, key->public_hex);   // made once

    Message m;
    m.kind = Kind::Config;
    m.serial = 1;
    m.hub = "hub.example.test";
    m.added = {"domain example.test authoritative"};
    auto sig = sign(*key, signed_part(m));
    ASSERT_TRUE(sig);
    EXPECT_TRUE(verify(key->public_hex, signed_part(m), *sig));
    Message tampered = m;
    tampered.added[0] = "domain evil.test authoritative";
    EXPECT_FALSE(verify(key->public_hex, signed_part(tampered), *sig));
    tampered = m;
    tampered.serial = 2;
    EXPECT_FALSE(verify(key->public_hex, signed_part(tampered), *sig));
    auto other = load_or_create_signing_key(dir / "other.key");
    ASSERT_TRUE(other);
    EXPECT_FALSE(verify(other->public_hex, signed_part(m), *sig));   // another hub's key
    EXPECT_FALSE(verify("nothex", signed_part(m), *sig));
    std::filesystem::remove_all(dir);
}

TEST(ReplicationSigning, RecipientHashNormalises) {
    std::string key(32, 'k');
    std::string h = recipient_hash(key, "alice@example.test");
    EXPECT_EQ(h.size(), 64u);
    EXPECT_EQ(recipient_hash(key, "Alice@EXAMPLE.test"), h);
    EXPECT_EQ(recipient_hash(key, "\"alice\"@example.test"), h);
    EXPECT_NE(recipient_hash(key, "bob@example.test"), h);
    EXPECT_NE(recipient_hash(std::string(32, 'j'), "alice@example.test"), h);   // another organisation
    EXPECT_NE(h.find_first_not_of("0123456789abcdef"), 0u);
    // A safe domain never collides with an address.
    EXPECT_NE(safe_sender_hash(key, "example.test"), recipient_hash(key, "example.test"));
    EXPECT_EQ(safe_sender_hash(key, "Partner.TEST"), safe_sender_hash(key, "partner.test"));
}

TEST(ReplicationSigning, OrgKeyMadeOnce) {
    auto dir = temp_dir();
    auto k1 = load_or_create_org_key(dir / "org.key");
    ASSERT_TRUE(k1);
    EXPECT_EQ(k1->size(), 32u);
    auto k2 = load_or_create_org_key(dir / "org.key");
    ASSERT_TRUE(k2);
    EXPECT_EQ(*k1, *k2);
    std::filesystem::remove_all(dir);
}

TEST(ReplicationSigning, Base64Url) {
    std::string out;
    ASSERT_TRUE(base64url_decode("aGVsbG8_-w", out));
    EXPECT_EQ(out, std::string("hello?\xfb", 7));
    EXPECT_FALSE(base64url_decode("a+b", out));
}

}  // namespace
}  // namespace rampart::replication
