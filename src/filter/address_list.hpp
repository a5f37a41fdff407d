// filter/address_list.hpp — the block lists of [sender_filter] and [recipient_filter]
// (DESIGN.md §11). An entry is an address "user@domain" (compared by
// directory::address_key: case-insensitive, quoting of the local part irrelevant), a
// domain "bad.test" (that domain only) or "*.bad.test" (every subdomain, not bad.test
// itself). Domains compare ASCII case-insensitively. Built once from the configuration.
#pragma once

#include <string>
#include <vector>

#include "smtp/address.hpp"

namespace rampart::filter {

class AddressList {
public:
    explicit AddressList(const std::vector<std::string>& entries);
    bool empty() const { return entries_.empty(); }
    // The entry, as written in the configuration, that `m` matches; nullptr if none.
    const std::string* match(const smtp::Mailbox& m) const;

private:
    enum class Kind { Address, Domain, Subdomains };
    struct Entry {
        Kind kind;
        std::string key;       // address key, or lower-case domain (without "*.")
        std::string written;
    };
    std::vector<Entry> entries_;
};

}  // namespace rampart::filter
