// directory/mailbox.hpp — who an address in an authoritative domain belongs to: a user
// (one of its `addresses`), an alias (expanded recursively), or nobody.
// Matching is ASCII case-insensitive in the domain AND the local part: RFC 5321 §2.4 lets
// the receiving host decide how to read its own local parts, and administrators expect
// "Alice@Example.Test" to reach alice@example.test. The directory must therefore not hold
// two addresses that differ only in case (the first one wins).
// Every look-up goes through address_key(): the RFC 5321 mailbox, not its spelling
// ("alice"@example.test is alice@example.test), so RCPT, alias expansion and delivery
// cannot disagree about an address (issue 14 item 8); all three classify a recipient
// with the one function resolve().
// Pure functions over a Directory value; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "directory/directory.hpp"

namespace rampart::directory {

// True if some user address or alias lies in `domain`: only then can the directory tell
// that an address there is unknown. A domain the directory says nothing about accepts every
// local part (and delivers to a per-address mailbox).
bool covers_domain(const Directory& d, std::string_view domain);

struct Lookup {
    const User* user = nullptr;    // the address is one of this user's addresses
    const Alias* alias = nullptr;  // or this alias
    bool known() const { return user || alias; }
};
Lookup lookup(const Directory& d, std::string_view address);

struct Expansion {
    // Final addresses, first occurrence order, duplicates removed: user addresses and
    // addresses that are not aliases here (remote ones, or local ones the caller checks).
    std::vector<std::string> addresses;
    bool loop = false;             // some branch came back to an alias already expanded
};

// Expands `address` if it is an alias: "user:NAME" targets become the user's first
// address; targets that are aliases are expanded in turn, at most `kMaxAliasDepth` deep
// and never twice (loop protection). An address that is no alias expands to itself.
constexpr int kMaxAliasDepth = 20;
Expansion expand(const Directory& d, std::string_view address);

// True for the local part "postmaster" in any case (RFC 5321 §4.5.1: always accepted).
bool is_postmaster(std::string_view local);

// ASCII lower-case copy.
std::string fold(std::string_view s);

// The key addresses are compared by: fold(smtp::Mailbox::key()) of the parsed address
// (quotes and quoted-pairs removed, case folded); an address that does not parse (a
// directory entry written loosely) is folded as written.
std::string address_key(std::string_view address);

// What an address in an authoritative domain (or "Postmaster" without a domain) is,
// for RCPT (rule recipient.known) and delivery (delivery::resolve_local) alike.
struct Resolved {
    enum class Kind {
        User,        // one of a user's addresses
        Alias,       // an alias that expands to at least one address
        AliasLoop,   // an alias that expands to nothing (every branch loops)
        Postmaster,  // postmaster the directory does not route (RFC 5321 §4.5.1)
        Unknown,     // the directory covers the domain and does not know the address
        Catchall,    // no directory, or a domain the directory holds nothing in
    };
    Kind kind = Kind::Unknown;
    const User* user = nullptr;
    const Alias* alias = nullptr;
    std::string local;    // the local part unquoted (the mailbox name), case kept
    std::string domain;   // lower-case; empty for <Postmaster>
};
Resolved resolve(const Directory* d, std::string_view address);

// The address looked up for a recipient: itself, or for <Postmaster> without a domain
// postmaster@<first authoritative domain> (RFC 5321 §4.5.1).
std::string lookup_form(const std::vector<config::Domain>& domains, std::string_view address);
// True if `domain` (lower-case) is an authoritative accepted domain: the directory answers there.
bool authoritative(const std::vector<config::Domain>& domains, std::string_view domain);

}  // namespace rampart::directory
