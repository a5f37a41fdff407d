// delivery/local.cpp — local mailbox resolution and alias expansion.
#include "delivery/local.hpp"

#include "config/address_space.hpp"
#include "delivery/maildir.hpp"
#include "directory/mailbox.hpp"
#include "smtp/address.hpp"
#include "util/text.hpp"

namespace rampart::delivery {

LocalMailbox resolve_local(const directory::Directory* dir, const std::vector<config::Domain>& domains, std::string_view address) {
    LocalMailbox m;
    std::string addr = directory::lookup_form(domains, address);
    // The same classification RCPT used (rule recipient.known): what it accepted is here.
    directory::Resolved r = directory::resolve(dir, addr);
    m.domain = r.domain;
    m.address = addr;
    using Kind = directory::Resolved::Kind;
    switch (r.kind) {
        case Kind::User:
            m.kind = LocalMailbox::Kind::User;
            m.user = r.user->name;
            m.maildir = folder_name(r.user->name);
            for (const std::string& a : r.user->addresses)
                if (directory::address_key(a) == directory::address_key(addr)) m.address = a;   // the directory's spelling
            return m;
        case Kind::Alias:       // not expanded when it was accepted: it loops (or the directory changed)
        case Kind::AliasLoop: m.kind = LocalMailbox::Kind::Alias; return m;
        case Kind::Postmaster:
            m.kind = LocalMailbox::Kind::Postmaster;
            m.maildir = "postmaster";
            return m;
        case Kind::Unknown: m.kind = LocalMailbox::Kind::Unknown; return m;
        case Kind::Catchall: break;
    }
    m.kind = LocalMailbox::Kind::Catchall;
    m.maildir = std::filesystem::path(folder_name(r.domain)) / folder_name(r.local);
    return m;
}

}  // namespace rampart::delivery
