// delivery/local.hpp — recipients in authoritative domains: alias expansion when a message
// is accepted, and the mailbox a recipient resolves to when it is delivered.
// Layout under data_dir/mail (docs/architecture.md "Local delivery"):
//   <user>/                 a directory user's Maildir (user name lower-cased)
//   <domain>/<local part>/  a domain the directory holds no address in (every local part
//                           is accepted there; the local part unquoted; every name by
//                           delivery::folder_name: lower case, injective, %HH-escaped)
//   postmaster/             postmaster@<authoritative domain> and <Postmaster>, unless the
//                           directory routes them (an alias or a user address)
// Pure functions over values; no I/O.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "directory/directory.hpp"
#include "queue/envelope.hpp"

namespace rampart::delivery {

struct LocalMailbox {
    enum class Kind {
        User,        // a directory user's address
        Catchall,    // a domain the directory knows nothing about (or no directory)
        Postmaster,  // postmaster not routed by the directory (RFC 5321 §4.5.1)
        Unknown,     // the directory covers the domain and does not know the address
        Alias,       // an alias that expanded to nothing (a loop): cannot be delivered
    };
    Kind kind = Kind::Unknown;
    std::string user;                 // Kind::User: the user's name
    std::filesystem::path maildir;    // relative to data_dir/mail (User, Catchall, Postmaster)
    std::string address;              // the address to hand to an LMTP server
    std::string domain;               // lower-case domain (for delivery.per_domain)
};

// `dir` may be null (no file directory): every authoritative domain is then a catch-all.
LocalMailbox resolve_local(const directory::Directory* dir, const std::vector<config::Domain>& domains,
                           std::string_view address);


}  // namespace rampart::delivery
