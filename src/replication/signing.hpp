// replication/signing.hpp — the cryptography of replication, on OpenSSL: the hub's Ed25519
// signing key (data_dir/hub/sign.key, PEM, mode 0600, made once), signatures over
// codec::signed_part(), the per-organisation HMAC key (data_dir/hub/org.key, 32 random bytes
// hex, mode 0600, made once), recipient hashes, the bootstrap secret's check, and the
// fingerprint of a PEM certificate given as text.
// Recipient hashes: HMAC-SHA-256(org key, directory::address_key(address)) in hex, so the
// edge and the hub agree with every other look-up on what an address is (domain and local
// part case-folded, quoting removed).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace rampart::replication {

// The Ed25519 private key in `path`, created (mode 0600) when missing. Holds the PEM.
struct SigningKey {
    std::string pem;
    std::string public_hex;   // the raw 32-byte public key, hex
};
Result<SigningKey> load_or_create_signing_key(const std::filesystem::path& path);
Result<std::string> sign(const SigningKey& key, std::string_view data);   // raw 64 bytes
bool verify(std::string_view public_hex, std::string_view data, std::string_view signature);

// 32 random bytes as hex in `path`, created (mode 0600) when missing; returns the raw key.
Result<std::string> load_or_create_org_key(const std::filesystem::path& path);

std::string hmac_hex(std::string_view key, std::string_view data);
// HMAC of the normalised address (directory::address_key) — the edge's and the hub's one rule.
std::string recipient_hash(std::string_view key, std::string_view address);
// A sender entry of a safe list: an address, or a domain ("example.test", hashed as
// "@example.test" so it never collides with an address).
std::string safe_sender_hash(std::string_view key, std::string_view entry);

std::string sha256_hex(std::string_view data);
// base64url (RFC 4648 §5, padding optional); false on a bad character.
bool base64url_decode(std::string_view in, std::string& out);
// The SHA-256 fingerprint (net/certificate.hpp form) of the first certificate in PEM text; "" if none.
std::string pem_fingerprint(std::string_view pem);

}  // namespace rampart::replication
