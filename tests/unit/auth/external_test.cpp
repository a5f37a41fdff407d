// SASL EXTERNAL decisions: certificate fingerprint, validity, source address, authzid.
#include "auth/external.hpp"

#include <gtest/gtest.h>

#include "directory/directory.hpp"

using namespace rampart;

namespace {

const std::string kFp(64, 'a');

directory::Directory dir_with(std::vector<std::string> addresses = {}) {
    directory::Directory d;
    d.servers.push_back({"edge1", std::move(addresses), kFp, {}});
    return d;
}

std::optional<net::PeerCertificate> cert(std::string fp = kFp, bool valid = true) {
    return net::PeerCertificate{std::move(fp), "/CN=edge1", valid};
}

net::IpAddress ip(const char* text) { return *net::IpAddress::parse(text); }

}  // namespace

TEST(External, KnownCertificateBecomesTheServerPrincipal) {
    for (std::string_view authzid : {"", "edge1", "server:edge1"}) {
        auto out = auth::authenticate_external(dir_with(), cert(), ip("127.0.0.1"), authzid);
        ASSERT_TRUE(out.principal) << authzid;
        EXPECT_EQ(out.principal->text(), "server:edge1");
    }
}

TEST(External, EveryOtherCaseIsInvalid) {
    struct Case {
        directory::Directory dir;
        std::optional<net::PeerCertificate> cert;
        const char* client;
        const char* authzid;
        const char* why;
    } cases[] = {
        {dir_with(), std::nullopt, "127.0.0.1", "", "no client certificate"},
        {dir_with(), cert(std::string(64, 'b')), "127.0.0.1", "", "belongs to no server"},
        {dir_with(), cert(kFp, false), "127.0.0.1", "", "expired or not yet valid"},
        {dir_with({"192.0.2.0/24"}), cert(), "127.0.0.1", "", "may connect only from its addresses"},
        {dir_with(), cert(), "127.0.0.1", "alice", "asked to act as"},
    };
    for (const Case& c : cases) {
        auto out = auth::authenticate_external(c.dir, c.cert, ip(c.client), c.authzid);
        EXPECT_FALSE(out.principal) << c.why;
        EXPECT_NE(out.reason.find(c.why), std::string::npos) << out.reason;
    }
}

TEST(External, ServerAddressesArePrefixes) {
    auto out = auth::authenticate_external(dir_with({"192.0.2.0/24", "2001:db8::1"}), cert(), ip("192.0.2.77"), "");
    EXPECT_TRUE(out.principal);
    out = auth::authenticate_external(dir_with({"192.0.2.0/24", "2001:db8::1"}), cert(), ip("2001:db8::1"), "");
    EXPECT_TRUE(out.principal);
}

TEST(Fingerprint, NormalisesOpensslAndPlainForms) {
    std::string colons, plain;
    for (int i = 0; i < 32; ++i) {
        colons += std::string(i ? ":" : "") + "AB";
        plain += "ab";
    }
    EXPECT_EQ(net::normalise_fingerprint(colons), plain);
    EXPECT_EQ(net::normalise_fingerprint("sha256:" + kFp), kFp);
    EXPECT_EQ(net::normalise_fingerprint(kFp.substr(1)), "");           // too short
    EXPECT_EQ(net::normalise_fingerprint(std::string(63, 'a') + "g"), "");   // not hex
}
