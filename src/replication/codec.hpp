// replication/codec.hpp — the replication message codec (hub → edge, docs/architecture.md
// "Replication"): one snapshot or delta of one kind, numbered and signed. Pure: bytes in,
// values out; no I/O, no crypto (replication/signing.hpp signs and verifies the bytes
// signed_part() returns). Fuzzed: tests/fuzz/replication_decoder_fuzz.cpp.
//
// Text format, one field per line, LF endings, every line bounded:
//   rampart-replication 1
//   kind config|recipients
//   serial N             (1.., monotonic per kind)
//   base M               (0: a snapshot; else the serial this delta applies to)
//   hub NAME             (the hub's server.hostname)
//   entries K
//   + ENTRY  /  - ENTRY  (K lines, every "+" before every "-"; a snapshot has only "+")
//   signature HEX        (Ed25519 over every byte before this line, 128 hex digits)
// An entry is printable ASCII and spaces (no control characters), 1..kMaxEntry bytes.
// Entries (what each kind carries):
//   config:     "domain NAME authoritative|internal-relay|external-relay"
//               "route DOMAIN HOST:PORT"   (mail for an accepted domain goes to the hub)
//   recipients: "orgkey HEX"               (the HMAC key, so the edge can hash look-ups)
//               "rcpt HEX"                 (HMAC-SHA-256 of a normalised address)
//               "safe RCPTHEX SENDERHEX"   (a safe sender or domain of that recipient)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rampart::replication {

enum class Kind { Config, Recipients };
std::string_view kind_name(Kind k);

constexpr std::size_t kMaxMessage = 64u << 20;   // bytes of one encoded message
constexpr std::size_t kMaxEntry = 512;
constexpr std::size_t kMaxEntries = 2'000'000;

struct Message {
    Kind kind = Kind::Config;
    std::uint64_t serial = 0;
    std::uint64_t base = 0;                 // 0: snapshot
    std::string hub;
    std::vector<std::string> added;         // a snapshot: every entry
    std::vector<std::string> removed;
    std::string signature;                  // raw bytes (64 for Ed25519)

    bool snapshot() const { return base == 0; }
};

// The bytes the signature covers (everything before the "signature" line).
std::string signed_part(const Message& m);
// signed_part() plus the signature line.
std::string encode(const Message& m);
// Bounded, strict: any deviation is an error naming the line. Does not verify the signature.
Result<Message> decode(std::string_view bytes);
// True if `entry` may be carried (printable ASCII and spaces, bounded, non-empty).
bool valid_entry(std::string_view entry);

std::string to_hex(std::string_view bytes);
// Lower-case hex only (the one spelling); false on odd length or another character.
bool from_hex(std::string_view hex, std::string& out);

}  // namespace rampart::replication
