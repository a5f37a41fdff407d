// senderauth/spf_record.hpp — the SPF record codec (RFC 7208 §4.5–§7): which TXT strings are
// SPF records, the parse of one record into terms, and macro expansion (§7).
// Trust: the record text comes from the sender's DNS — anyone's. Pure: no DNS, no I/O, no
// logging; every input gives a value or a ParseError (permerror), never a crash (fuzzed:
// tests/fuzz/spf_record_fuzz.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/cidr.hpp"
#include "util/result.hpp"

namespace rampart::senderauth {

// RFC 7208 §4.6.2: "+" pass (the default), "-" fail, "~" softfail, "?" neutral.
enum class Qualifier { Pass, Fail, SoftFail, Neutral };

enum class MechanismKind { All, Include, A, Mx, Ptr, Ip4, Ip6, Exists };
std::string_view mechanism_name(MechanismKind k);

struct Mechanism {
    Qualifier qualifier = Qualifier::Pass;
    MechanismKind kind = MechanismKind::All;
    // include, exists: required; a, mx, ptr: optional (empty: the current domain). A
    // macro-string (§7), checked for syntax at parse time and expanded at evaluation.
    std::string domain_spec;
    net::Cidr network;      // ip4, ip6: the network
    unsigned cidr4 = 32;    // a, mx: the dual-cidr-length (§5.6)
    unsigned cidr6 = 128;
    std::string text;       // the term as written (logs, explanations)
};

struct SpfRecord {
    std::vector<Mechanism> mechanisms;        // in record order
    std::optional<std::string> redirect;      // redirect= domain-spec (§6.1)
    std::optional<std::string> exp;           // exp= domain-spec (§6.2)
};

struct ParseError {
    int code = 0;
    std::string message;   // "unknown mechanism \"foo\"": goes into the permerror reason
};

// §4.5: a TXT string is an SPF record when it starts with "v=spf1" (case-insensitive)
// followed by a space or the end.
bool is_spf_record(std::string_view txt);

// Parses one record (with its "v=spf1"). Syntax errors, unknown mechanisms, repeated
// redirect/exp and out-of-range CIDR lengths are errors (§4.6, §6: permerror). Unknown
// modifiers are ignored (§6).
Result<SpfRecord, ParseError> parse_spf_record(std::string_view record);

// Checks the syntax of a macro-string (§7.1); empty if fine, else the problem.
std::string macro_string_problem(std::string_view macro_string);

// The values the macro letters stand for (§7.3).
struct MacroContext {
    std::string sender;             // s: local-part@domain (postmaster@HELO for a null sender)
    std::string local_part;         // l
    std::string sender_domain;      // o
    std::string domain;             // d: the current domain of check_host()
    net::IpAddress ip;              // i, c, v
    std::string validated_ptr = "unknown";   // p (the evaluator fills it when a macro asks)
    std::string helo;               // h
    std::string receiver;           // r (explanations only)
    long long timestamp = 0;        // t (explanations only)
};

// True if `macro_string` uses %{p} (expensive: the evaluator resolves it first).
bool uses_ptr_macro(std::string_view macro_string);

// Expands a macro-string. `explanation`: the c, r and t letters are allowed (§7.2: exp
// text only); otherwise they are an error. A domain-spec result longer than 253
// characters loses labels on the left until it fits (§7.3) — only for domain-specs, so
// callers pass `domain` = true.
Result<std::string, ParseError> expand_macros(std::string_view macro_string, const MacroContext& ctx, bool explanation,
                                              bool domain);

// "i" of an address: dotted quad, or the 32 nibbles of an IPv6 address joined by dots.
std::string macro_ip(const net::IpAddress& ip);
// The reverse-lookup name: "4.3.2.1.in-addr.arpa" / nibbles ".ip6.arpa".
std::string reverse_name(const net::IpAddress& ip);

}  // namespace rampart::senderauth
