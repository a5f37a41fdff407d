// directory/safe_senders.cpp — safe-sender look-up (see safe_senders.hpp).
#include "directory/safe_senders.hpp"

#include "directory/mailbox.hpp"

namespace rampart::directory {

bool lists_safe_sender(const Directory& d, std::string_view recipient, const smtp::Mailbox& sender) {
    if (sender.local.empty() || sender.domain.empty()) return false;
    Lookup l = lookup(d, recipient);
    if (!l.user) return false;
    auto listed = d.safe_senders.find(l.user->name);
    if (listed == d.safe_senders.end()) return false;
    std::string address = fold(sender.key());
    std::string domain = sender.domain_key();
    for (const std::string& entry : listed->second) {
        if (entry.find('@') != std::string::npos) {
            if (address_key(entry) == address) return true;
        } else if (fold(entry) == domain) {
            return true;
        }
    }
    return false;
}

std::string safe_sender_problem(std::string_view entry) {
    if (entry.empty()) return "an empty entry";
    if (entry.find('@') != std::string_view::npos) {
        if (!smtp::parse_mailbox(entry)) return "\"" + std::string(entry) + "\" is not an address";
        return {};
    }
    if (!smtp::parse_mailbox("x@" + std::string(entry))) return "\"" + std::string(entry) + "\" is not a domain";
    return {};
}

}  // namespace rampart::directory
