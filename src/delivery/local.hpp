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

// Replaces every recipient that is an alias in an authoritative domain by the alias's
// expansion (directory::expand): remote targets become recipients routed like any other,
// local ones are resolved again at delivery. Each new recipient keeps NOTIFY, gets
// ORCPT = the original recipient (RFC 3461 §4.2) unless one was given, and alias = the
// original recipient, so reports speak of the alias, never of its members (RFC 3461
// §6.2.7.3; queue/dsn.hpp). XXX: were NOTIFY ever passed to the next hop, a member's
// SUCCESS would have to be removed there (the alias's "expanded" notice answers it). Duplicates (same
// address, case-insensitive) keep their first occurrence. An alias that expands to nothing
// (a loop) stays, so delivery reports it.
std::vector<queue::Recipient> expand_recipients(const directory::Directory& dir, const std::vector<config::Domain>& domains,
                                                const std::vector<queue::Recipient>& rcpts);

}  // namespace rampart::delivery
