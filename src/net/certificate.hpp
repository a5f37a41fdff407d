// net/certificate.hpp — certificate fingerprints: how rampart recognises an organisation
// server (directory [[servers]] fingerprint) and how `rampart server add` computes one.
// The fingerprint is the SHA-256 of the certificate's DER encoding, lower-case hex without
// separators — the value `openssl x509 -noout -fingerprint -sha256` prints, minus colons.
#pragma once

#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.hpp"

typedef struct x509_st X509;

namespace rampart::net {

// What a TLS peer presented: its leaf certificate, summarised.
struct PeerCertificate {
    std::string fingerprint;   // normalised SHA-256 hex
    std::string subject;       // one-line subject, for logs only
    bool valid_now = false;    // notBefore <= now <= notAfter
};

std::string fingerprint_of(X509* cert);
PeerCertificate describe(X509* cert);
// The first certificate in a PEM file (the leaf of a chain file).
Result<PeerCertificate> read_certificate(const std::filesystem::path& pem);
// Exactly one PEM certificate in `pem` (the subscription file's `certificate`): its summary,
// or an Error saying what is wrong (no certificate, garbage, a private key).
Result<PeerCertificate> parse_certificate_pem(std::string_view pem);
// "AB:CD:…", "sha256:abcd…" or "abcd…" → "abcd…"; "" if it is not 64 hex digits.
std::string normalise_fingerprint(std::string_view text);

}  // namespace rampart::net
