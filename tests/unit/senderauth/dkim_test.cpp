// DKIM verification against messages signed by a real signer (dkimpy; data/make_data.py).
#include "senderauth/dkim.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <iterator>

using namespace rampart::senderauth;
using namespace rampart::senderauth::dkim;

namespace {

std::string data(const std::string& name) {
    std::ifstream in(std::string(RAMPART_UNIT_DIR) + "/senderauth/data/" + name, std::ios::binary);
    EXPECT_TRUE(in) << name;
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();   // key files: one line
    return s;
}

std::string message(const std::string& name) {
    std::ifstream in(std::string(RAMPART_UNIT_DIR) + "/senderauth/data/" + name, std::ios::binary);
    EXPECT_TRUE(in) << name;
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

KeyAnswer key(const std::string& txt) { return KeyAnswer{KeyAnswer::Kind::Records, {txt}, ""}; }

std::uint64_t now() { return static_cast<std::uint64_t>(std::time(nullptr)); }

DkimOutcome check(const std::string& msg, const KeyAnswer& k, std::uint64_t at = now()) {
    auto pending = signatures(msg);
    EXPECT_EQ(pending.size(), 1u);
    if (pending.empty()) return {};
    return verify(msg, pending[0], k, at);
}

void replace(std::string& s, std::string_view from, std::string_view to) {
    std::size_t p = s.find(from);
    ASSERT_NE(p, std::string::npos) << from;
    s.replace(p, from.size(), to);
}

}  // namespace

// RFC 6376 §3.4.5, the two examples.
TEST(Canonicalization, Rfc6376Examples) {
    EXPECT_EQ(canonicalize_header("A: X\r\n", Canon::Relaxed), "a:X\r\n");
    EXPECT_EQ(canonicalize_header("B : Y\t\r\n\tZ  \r\n", Canon::Relaxed), "b:Y Z\r\n");
    EXPECT_EQ(canonicalize_header("B : Y\t\r\n\tZ  \r\n", Canon::Simple), "B : Y\t\r\n\tZ  \r\n");
    const std::string body = " C \r\nD \t E\r\n\r\n\r\n";
    EXPECT_EQ(canonicalize_body(body, Canon::Relaxed), " C\r\nD E\r\n");
    EXPECT_EQ(canonicalize_body(body, Canon::Simple), " C \r\nD \t E\r\n");
}

TEST(Canonicalization, EmptyBodiesAndMissingLineEnds) {
    EXPECT_EQ(canonicalize_body("", Canon::Simple), "\r\n");           // §3.4.3
    EXPECT_EQ(canonicalize_body("", Canon::Relaxed), "");              // §3.4.4 (erratum 3192)
    EXPECT_EQ(canonicalize_body("\r\n\r\n", Canon::Simple), "\r\n");
    EXPECT_EQ(canonicalize_body(" \t\r\n", Canon::Relaxed), "");
    EXPECT_EQ(canonicalize_body("abc", Canon::Simple), "abc\r\n");
    EXPECT_EQ(canonicalize_body("a\nb\n\n", Canon::Simple), "a\r\nb\r\n");   // bare LF read as CRLF
}

TEST(Dkim, RealSignaturesPass) {
    struct Case { const char* file; const char* key; const char* algorithm; const char* selector; };
    for (Case c : {Case{"rsa_relaxed.eml", "rsa.txt", "rsa-sha256", "rsa"},
                   Case{"rsa_simple.eml", "rsa.txt", "rsa-sha256", "rsa"},
                   Case{"rsa_length.eml", "rsa.txt", "rsa-sha256", "rsa"},
                   Case{"ed25519.eml", "ed.txt", "ed25519-sha256", "ed"}}) {
        DkimOutcome o = check(message(c.file), key(data(c.key)));
        EXPECT_EQ(o.result, DkimResult::Pass) << c.file << ": " << o.reason;
        EXPECT_EQ(o.domain, "example.test");
        EXPECT_EQ(o.selector, c.selector);
        EXPECT_EQ(o.algorithm, c.algorithm);
        EXPECT_EQ(o.header_b.size(), 8u);
    }
}

TEST(Dkim, BareLfMessagesVerifyAsCrlf) {
    for (const char* f : {"rsa_relaxed.eml", "rsa_simple.eml"}) {
        std::string m = message(f), lf;
        for (char c : m)
            if (c != '\r') lf += c;
        EXPECT_EQ(check(lf, key(data("rsa.txt"))).result, DkimResult::Pass) << f;
    }
}

TEST(Dkim, TamperedBodyFailsOnTheBodyHash) {
    for (const char* f : {"rsa_relaxed.eml", "rsa_simple.eml", "ed25519.eml"}) {
        std::string m = message(f);
        replace(m, "10:00", "11:00");
        DkimOutcome o = check(m, key(data(f == std::string("ed25519.eml") ? "ed.txt" : "rsa.txt")));
        EXPECT_EQ(o.result, DkimResult::Fail) << f;
        EXPECT_EQ(o.reason, "body hash mismatch");
    }
}

TEST(Dkim, TamperedSignedHeaderFails) {
    for (const char* f : {"rsa_relaxed.eml", "ed25519.eml"}) {
        std::string m = message(f);
        replace(m, "From: Alice <alice@example.test>", "From: Alice <alice@evil.test>");
        DkimOutcome o = check(m, key(data(f == std::string("ed25519.eml") ? "ed.txt" : "rsa.txt")));
        EXPECT_EQ(o.result, DkimResult::Fail) << f;
        EXPECT_EQ(o.reason, "signature did not verify");
    }
}

TEST(Dkim, OversignedHeaderAddedLaterFails_UnsignedHeaderDoesNot) {
    std::string m = message("rsa_relaxed.eml");
    std::string added = m;
    replace(added, "To: Bob", "Subject: urgent, pay now\r\nTo: Bob");   // h= lists subject twice
    EXPECT_EQ(check(added, key(data("rsa.txt"))).result, DkimResult::Fail);
    std::string unsigned_field = m;
    replace(unsigned_field, "To: Bob", "X-Spam-Score: 0\r\nTo: Bob");
    EXPECT_EQ(check(unsigned_field, key(data("rsa.txt"))).result, DkimResult::Pass);
    std::string received = "Received: from a by b; Tue, 01 Dec 2026 18:00:01 +0000\r\n" + m;
    EXPECT_EQ(check(received, key(data("rsa.txt"))).result, DkimResult::Pass);
}

TEST(Dkim, RelaxedToleratesWhitespaceSimpleDoesNot) {
    std::string relaxed = message("rsa_relaxed.eml");
    replace(relaxed, "Subject:  relaxed relaxed", "subject:relaxed    relaxed  ");
    replace(relaxed, "The meeting   is", "The meeting is");
    EXPECT_EQ(check(relaxed, key(data("rsa.txt"))).result, DkimResult::Pass);
    std::string simple = message("rsa_simple.eml");
    replace(simple, "Subject:  simple simple", "Subject: simple simple");
    EXPECT_EQ(check(simple, key(data("rsa.txt"))).result, DkimResult::Fail);
    simple = message("rsa_simple.eml");
    replace(simple, "The meeting   is", "The meeting is");
    EXPECT_EQ(check(simple, key(data("rsa.txt"))).reason, "body hash mismatch");
    simple = message("rsa_simple.eml");
    simple += "\r\n\r\n";   // trailing empty lines are not part of the simple body either
    EXPECT_EQ(check(simple, key(data("rsa.txt"))).result, DkimResult::Pass);
}

TEST(Dkim, BodyLengthCoversOnlyTheSignedPrefix) {
    std::string m = message("rsa_length.eml");
    EXPECT_EQ(check(m + "Appended by a list: unsubscribe here\r\n", key(data("rsa.txt"))).result, DkimResult::Pass);
    std::string inside = m;
    replace(inside, "10:00", "11:00");
    EXPECT_EQ(check(inside, key(data("rsa.txt"))).result, DkimResult::Fail);
    std::string shorter = m.substr(0, m.find("Alice\r\n\r\n\r\n"));   // body cut below l=
    DkimOutcome o = check(shorter, key(data("rsa.txt")));
    EXPECT_EQ(o.result, DkimResult::Fail);
    EXPECT_EQ(o.reason, "l= is longer than the body");
}

TEST(Dkim, ExpiryIsCheckedAgainstTheCallersClock) {
    std::string m = message("rsa_expired.eml");   // t=1000000000, x=1000000100
    EXPECT_EQ(check(m, key(data("rsa.txt")), 1000000050).result, DkimResult::Pass);
    DkimOutcome o = check(m, key(data("rsa.txt")), 1000000101);
    EXPECT_EQ(o.result, DkimResult::PermError);
    EXPECT_EQ(o.reason, "signature expired");
}

TEST(Dkim, KeyProblems) {
    std::string rsa = message("rsa_relaxed.eml");
    std::string ed = message("ed25519.eml");
    EXPECT_EQ(check(rsa, key("v=DKIM1; k=rsa; p=")).reason, "key revoked");
    EXPECT_EQ(check(rsa, key(data("ed.txt"))).result, DkimResult::PermError);       // k=ed25519 for a=rsa
    EXPECT_EQ(check(ed, key(data("rsa.txt"))).result, DkimResult::PermError);       // k=rsa for a=ed25519
    std::string ed_as_rsa = data("ed.txt");
    replace(ed_as_rsa, "k=ed25519", "k=rsa");
    EXPECT_EQ(check(rsa, key(ed_as_rsa)).reason, "key p= is not an RSA public key");
    std::string rsa_sha1_only = data("rsa.txt");
    replace(rsa_sha1_only, "k=rsa;", "k=rsa; h=sha1;");
    EXPECT_EQ(check(rsa, key(rsa_sha1_only)).result, DkimResult::PermError);
    EXPECT_EQ(check(rsa, key("v=DKIM1; k=rsa; p=AB$")).result, DkimResult::PermError);
    EXPECT_EQ(check(rsa, KeyAnswer{KeyAnswer::Kind::NoRecord, {}, ""}).reason, "no key for signature");
    DkimOutcome temp = check(rsa, KeyAnswer{KeyAnswer::Kind::TempFailure, {}, "timeout"});
    EXPECT_EQ(temp.result, DkimResult::TempError);
    EXPECT_EQ(temp.reason, "key lookup failed: timeout");
    // A junk record next to the key is skipped.
    EXPECT_EQ(verify(rsa, signatures(rsa)[0], KeyAnswer{KeyAnswer::Kind::Records, {"google-site-verification=x", data("rsa.txt")}, ""}, now()).result,
              DkimResult::Pass);
}

TEST(Dkim, RepeatedFieldsAreTakenBottomUp) {
    std::string m = message("rsa_repeated.eml");   // X-Trace: first / X-Trace: second, h=from:x-trace
    EXPECT_EQ(check(m, key(data("rsa.txt"))).result, DkimResult::Pass);
    std::string top = m;
    replace(top, "X-Trace: first", "X-Trace: changed");
    EXPECT_EQ(check(top, key(data("rsa.txt"))).result, DkimResult::Pass);
    std::string bottom = m;
    replace(bottom, "X-Trace: second", "X-Trace: changed");
    EXPECT_EQ(check(bottom, key(data("rsa.txt"))).result, DkimResult::Fail);
}

TEST(Dkim, IdentityInASubdomainUnlessTheKeySaysStrict) {
    std::string m = message("rsa_identity.eml");
    DkimOutcome o = check(m, key(data("rsa.txt")));
    EXPECT_EQ(o.result, DkimResult::Pass) << o.reason;
    EXPECT_EQ(o.identity, "bob@mail.example.test");
    std::string strict = data("rsa.txt");
    replace(strict, "k=rsa;", "k=rsa; t=s;");
    EXPECT_EQ(check(m, key(strict)).result, DkimResult::PermError);
    std::string testing = data("rsa.txt");
    replace(testing, "k=rsa;", "k=rsa; t=y;");
    DkimOutcome t = check(m, key(testing));
    EXPECT_EQ(t.result, DkimResult::Pass);
    EXPECT_TRUE(t.testing);
}

TEST(Dkim, Rfc8301RefusesSha1AndShortKeys) {
    DkimOutcome sha1 = check(message("rsa_sha1.eml"), key(data("rsa.txt")));
    EXPECT_EQ(sha1.result, DkimResult::PermError);
    EXPECT_EQ(sha1.algorithm, "rsa-sha1");
    DkimOutcome short_key = check(message("rsa_short.eml"), key(data("short.txt")));
    EXPECT_EQ(short_key.result, DkimResult::PermError);
    EXPECT_EQ(short_key.reason, "RSA key shorter than 1024 bits (RFC 8301)");
}

TEST(Dkim, MalformedSignaturesArePermerrorsWithoutLookup) {
    std::string m = "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=x; h=to; bh=AAAA; b=AAAA\r\n"
                    "DKIM-Signature: v=1; a=rsa-sha256; b=AAAA\r\n"
                    "DKIM-Signature: " + std::string(20000, 'x') + "\r\n"
                    "From: a@example.test\r\n\r\nbody\r\n";
    auto pending = signatures(m);
    ASSERT_EQ(pending.size(), 3u);
    for (const auto& p : pending) {
        EXPECT_TRUE(p.done);
        EXPECT_EQ(p.outcome.result, DkimResult::PermError);
        EXPECT_EQ(verify(m, p, key(data("rsa.txt")), now()).result, DkimResult::PermError);
    }
    EXPECT_EQ(pending[0].outcome.reason, "h= does not sign From");
    EXPECT_EQ(pending[1].outcome.reason, "missing tag bh=");
    EXPECT_EQ(pending[2].outcome.reason, "signature field too long");
}

TEST(Dkim, WorkIsBounded) {
    std::string sig = message("rsa_relaxed.eml");
    std::string head = sig.substr(0, sig.find("From: "));
    std::string m;
    for (int i = 0; i < 8; ++i) m += head;
    m += sig.substr(sig.find("From: "));
    EXPECT_EQ(signatures(m).size(), 5u);
    EXPECT_EQ(signatures(m, Limits{2, 1000}).size(), 2u);
    EXPECT_TRUE(signatures("From: a@b.test\r\n\r\nno signature\r\n").empty());
    EXPECT_TRUE(signatures("").empty());
}

TEST(Dkim, ASignatureMovedIntoTheBodyIsNotRead) {
    std::string m = message("rsa_relaxed.eml");
    std::string sig = m.substr(0, m.find("From: "));
    std::string moved = m.substr(m.find("From: ")) + sig;
    EXPECT_TRUE(signatures(moved).empty());
}
