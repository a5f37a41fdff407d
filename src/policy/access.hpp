// policy/access.hpp — the access decisions of DESIGN.md §3: connection control, MAIL FROM
// (submit permission), RCPT TO (submit vs relay). Takes values, returns a Decision; never
// sees a socket. Live sessions and `rampart explain` call these same functions.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "config/config.hpp"
#include "directory/directory.hpp"
#include "net/cidr.hpp"
#include "policy/decision.hpp"
#include "policy/principal.hpp"
#include "smtp/address.hpp"

namespace rampart::policy {

// What the rules may look at: the listener's settings, the organisation's accepted
// domains and routes, and the facts of this session.
struct SessionFacts {
    const config::Listener* listener = nullptr;
    const std::vector<config::Domain>* domains = nullptr;
    const std::vector<config::SendConnector>* connectors = nullptr;
    net::IpAddress client;
    Principal principal;
    bool tls = false;
    // The directory snapshot recipients are checked against (rule "recipient.known");
    // null: no file directory, so unknown recipients cannot be told apart.
    std::shared_ptr<const directory::Directory> directory;
};

// Recipient class (DESIGN.md §2): submit to an accepted domain, or relay.
enum class RecipientClass { Submit, Relay };

Decision check_connection(const SessionFacts& s, Trace* trace = nullptr);
Decision check_mail(const SessionFacts& s, const smtp::Path& sender, Trace* trace = nullptr);
Decision check_rcpt(const SessionFacts& s, const smtp::Path& sender, const smtp::Path& rcpt, Trace* trace = nullptr);
// True for check_rcpt's refusal of an unknown recipient of an authoritative domain (rule
// recipient.known, 550 5.1.1). The session and explain still ask the filter chain about
// such a recipient: the recipient filter refuses it the same way, after its tarpit.
bool unknown_recipient(const Decision& d);

// True if `grants` ("user:NAME", "group:NAME", "authenticated") names the principal.
bool grant_matches(std::span<const std::string> grants, const Principal& p);

}  // namespace rampart::policy
