// directory/safe_senders.hpp — a user's safe senders (DESIGN.md §10, issue 9): the senders
// whose mail skips the content filter for that user. Entries are an address
// ("boss@partner.test") or a domain ("partner.test", that domain only, not its subdomains).
// Matching is ASCII case-insensitive and by the RFC 5321 mailbox (quoting does not matter).
// This is the one question the content filter asks; the replication issue will answer it
// on an edge from keyed hashes instead of the directory, behind the same function.
// Pure; no I/O.
#pragma once

#include <string_view>

#include "directory/directory.hpp"
#include "smtp/address.hpp"

namespace rampart::directory {

// True if `recipient` is one of a user's addresses and that user lists `sender` (the
// envelope sender) as safe. Aliases and unknown recipients list nobody.
bool lists_safe_sender(const Directory& d, std::string_view recipient, const smtp::Mailbox& sender);

// An entry of `safe_senders` as the directory file may hold it: empty when valid, else why not.
std::string safe_sender_problem(std::string_view entry);

}  // namespace rampart::directory
