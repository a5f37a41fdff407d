// directory/mailbox.hpp — who an address in an authoritative domain belongs to: a user
// (one of its `addresses`), an alias (expanded recursively), or nobody.
// Matching is ASCII case-insensitive in the domain AND the local part: RFC 5321 §2.4 lets
// the receiving host decide how to read its own local parts, and administrators expect
// "Alice@Example.Test" to reach alice@example.test. The directory must therefore not hold
// two addresses that differ only in case (the first one wins).
// Pure functions over a Directory value; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

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

// ASCII lower-case copy (addresses are compared through this).
std::string fold(std::string_view s);

}  // namespace rampart::directory
