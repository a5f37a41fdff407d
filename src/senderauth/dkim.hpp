// senderauth/dkim.hpp — DKIM verification (RFC 6376; rsa-sha256, and ed25519-sha256 per
// RFC 8463; rsa-sha1 and RSA keys under 1024 bits refused per RFC 8301).
// Trust: the message, its signatures and the key records are hostile. Work is bounded: at
// most Limits::max_signatures signatures are looked at per message (the top-most ones), at
// most Limits::max_header_fields header fields are read, each signature hashes the body
// once (linear in its size) and verifies one public-key operation with a key of at most
// kMaxRsaBits bits. Pure: no DNS, no clock (the caller passes `now`), no logging.
//
// How the filter agent calls it (the DNS stays with the caller and its deadline):
//   auto pending = dkim::signatures(view.message);            // parse every DKIM-Signature
//   for (auto& p : pending) {
//       if (p.done) { outcomes.push_back(p.outcome); continue; }   // malformed: permerror
//       KeyAnswer key = <TXT lookup of p.key_name() with the agent's deadline>;
//       outcomes.push_back(dkim::verify(view.message, p, key, now_unix_seconds));
//   }
//   // no DKIM-Signature at all: pending is empty → report dkim=none
// Results: pass; fail = body hash or signature mismatch (or l= beyond the body); permerror =
// the signature or key is unusable (syntax, rsa-sha1, RSA < 1024 or > 8192 bits, revoked key,
// k= not matching a=, x= passed, key h=/s=/t=s forbidding it); temperror = the key lookup
// failed; none = no signature (empty `signatures`). Neutral and Policy are never produced
// here; they exist for the agent's own decisions (RFC 8601 §2.7.1).
// Each outcome carries an RFC 8601 result name, the reason (for the A-R comment and the log),
// d=, s=, the i= and the first bytes of b= (header.d / header.s / header.i / header.b).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "senderauth/dkim_signature.hpp"

namespace rampart::senderauth::dkim {

inline constexpr int kMinRsaBits = 1024;   // RFC 8301 §3.2
inline constexpr int kMaxRsaBits = 8192;   // above: refused, to bound the verify cost

struct Limits {
    std::size_t max_signatures = 5;        // more are ignored (RFC 6376 §6.1 allows a limit)
    std::size_t max_header_fields = 1000;  // fields past this are not read
};

// RFC 8601 §2.7.1 result names.
enum class DkimResult { None, Pass, Fail, Neutral, Policy, TempError, PermError };
std::string_view result_name(DkimResult r);    // "pass", "fail", "permerror", ...

struct DkimOutcome {
    DkimResult result = DkimResult::None;
    std::string reason;      // "body hash mismatch", "key revoked", ...; empty for pass
    std::string domain;      // d= (empty when the signature did not parse)
    std::string selector;    // s=
    std::string identity;    // i= (or "@d")
    std::string algorithm;   // a=
    std::string header_b;    // the first 8 characters of b= (RFC 6008 header.b)
    bool testing = false;    // the key said t=y (the result still stands; report it)
};

// One DKIM-Signature found in the message, in the order the fields appear (top first).
struct PendingSignature {
    std::size_t field_index = 0;           // which header field (0 = the first field)
    std::optional<DkimSignature> signature;
    bool done = false;                     // true: `outcome` is final (did not parse), no lookup
    DkimOutcome outcome;                      // when done: permerror with the reason
    std::string key_name() const { return signature ? signature->key_name() : std::string(); }
};

// Step 1: the message's DKIM-Signature fields, parsed. Empty: the message is unsigned
// (dkim=none). `message`: the whole message as spooled (header, empty line, body; CRLF line
// ends, bare LF accepted as CRLF).
std::vector<PendingSignature> signatures(std::string_view message, const Limits& limits = {});

// What the caller's TXT lookup of key_name() gave.
struct KeyAnswer {
    enum class Kind { Records, NoRecord, TempFailure } kind = Kind::NoRecord;
    std::vector<std::string> records;      // Records: each TXT record, its strings joined
    std::string detail;                    // TempFailure: for the reason ("timeout", "SERVFAIL")
};

// Step 2: verifies one signature with the key the caller fetched. `now`: Unix seconds, for x=.
DkimOutcome verify(std::string_view message, const PendingSignature& pending, const KeyAnswer& key,
               std::uint64_t now, const Limits& limits = {});

// The canonicalisations of RFC 6376 §3.4 (exposed for the tests and for signers).
// Body: the canonical body (before l=). Header: one field, "Name:value" plus its line end(s)
// as in the message; the result ends in CRLF.
std::string canonicalize_body(std::string_view body, Canon canon);
std::string canonicalize_header(std::string_view field, Canon canon);

}  // namespace rampart::senderauth::dkim
