// senderauth/dkim_signature.hpp — the DKIM tag=value list (RFC 6376 §3.2, also used by DMARC
// records, RFC 7489 §6.4), DKIM-Signature header values (RFC 6376 §3.5) and DKIM key records
// (RFC 6376 §3.6.1, RFC 8463 for k=ed25519).
// Trust: every input is hostile text from the peer or from DNS. Each parser makes one pass,
// refuses inputs beyond the size caps below (a precise reason, never a crash), and copies at
// most the capped sizes. Pure: no DNS, no clock, no logging.
// Contract: a parse either yields a value that satisfies every MUST of the RFC that the
// parser can check without the message or the key (required tags present, v=1, h= names
// "from", i= inside d=, x= not before t=, base64 well formed) or an Error whose message is
// the permerror reason, fit for an Authentication-Results comment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rampart::senderauth {

// Caps on hostile input. A DKIM-Signature a real signer writes is < 2 KiB (a 4096-bit RSA
// b= is 684 base64 characters, h= with oversigning a few hundred).
inline constexpr std::size_t kMaxSignatureField = 16 * 1024;   // whole header value
inline constexpr std::size_t kMaxKeyRecord = 8 * 1024;         // one TXT record, strings joined
inline constexpr std::size_t kMaxTags = 64;
inline constexpr std::size_t kMaxTagValue = 8 * 1024;
inline constexpr std::size_t kMaxSignedHeaders = 128;          // names in h=
inline constexpr std::size_t kMaxDomainLength = 253;

struct Tag {
    std::string_view name;
    std::string_view value;        // whitespace around it removed; inner FWS kept
    std::size_t value_begin = 0;   // offsets of `value` in the input
    std::size_t value_end = 0;
    std::size_t raw_begin = 0;     // just after the "=" (the value with its whitespace
    std::size_t raw_end = 0;       // runs to raw_end: the ";" or the end of the input)
};

// RFC 6376 §3.2 tag-list: tag names ALPHA *(ALPHA / DIGIT / "_"), case-sensitive, each at
// most once; a trailing ";" allowed. Error: the first syntax problem (duplicate tag, bad name,
// missing "=", too many tags, a value over kMaxTagValue).
Result<std::vector<Tag>> parse_tag_list(std::string_view text);

enum class DkimAlgorithm { RsaSha256, Ed25519Sha256, RsaSha1 };
enum class Canon { Simple, Relaxed };

std::string_view algorithm_name(DkimAlgorithm a);   // "rsa-sha256", "ed25519-sha256", "rsa-sha1"

struct DkimSignature {
    DkimAlgorithm algorithm = DkimAlgorithm::RsaSha256;   // rsa-sha1 is parsed (to name it), never verified
    std::string signature;       // b=, decoded
    std::string b_text;          // b= as written, whitespace removed (A-R header.b, RFC 6008)
    std::string body_hash;       // bh=, decoded
    Canon header_canon = Canon::Simple;
    Canon body_canon = Canon::Simple;
    std::string domain;          // d=, lower-case, no trailing dot
    std::vector<std::string> signed_headers;   // h=, lower-case, in order (repeats kept)
    std::string identity;        // i= as written; default "@" + d (RFC 6376 §3.5)
    std::string identity_domain; // the part of i= after the last "@", lower-case
    std::optional<std::uint64_t> body_length;  // l=
    std::string selector;        // s=, lower-case
    std::optional<std::uint64_t> timestamp;    // t=
    std::optional<std::uint64_t> expiration;   // x=

    // The TXT name of the key: "<s>._domainkey.<d>" (RFC 6376 §3.6.2.1).
    std::string key_name() const { return selector + "._domainkey." + domain; }
};

// Parses a DKIM-Signature field value (the text after the colon; folds allowed).
// Error: the permerror reason ("missing tag bh=", "duplicate tag d=", "i= not within d=", ...).
Result<DkimSignature> parse_dkim_signature(std::string_view value);

// The field value with the b= tag's value and the whitespace around it removed, everything
// else kept byte for byte, as the header hash needs it (RFC 6376 §3.7); when b= is the last
// tag, the field's final line end stays. `value` must have parsed.
std::string strip_b_value(std::string_view value);

struct DkimKey {
    std::string key_type = "rsa";       // k=: "rsa" or "ed25519"
    std::string public_key;             // p=, decoded; empty: the key is revoked (§3.6.1)
    std::vector<std::string> hashes;    // h=, lower-case; empty: any
    bool testing = false;               // t=y
    bool strict_identity = false;       // t=s: i= must be exactly d=
};

// Parses one DKIM key TXT record (its strings joined). Error: the permerror reason
// (v= not DKIM1, unknown k=, missing p=, bad base64, service type not email, ...).
Result<DkimKey> parse_dkim_key(std::string_view record);

// RFC 4648 base64 with FWS allowed between characters (RFC 6376 §2.6); nullopt on a
// character outside the alphabet, bad padding or a length that is not a multiple of 4.
std::optional<std::string> decode_base64(std::string_view text);

// True for a syntactically valid domain name (letters, digits, "-", "_" in labels of 1–63,
// at most kMaxDomainLength in all); `name` is lower-cased by the caller.
bool valid_domain(std::string_view name);

}  // namespace rampart::senderauth
