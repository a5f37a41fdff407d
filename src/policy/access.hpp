// policy/access.hpp — the access decisions of DESIGN.md §3: connection control, MAIL FROM
// (submit permission), RCPT TO (submit vs relay). Takes values, returns a Decision; never
// sees a socket. Live sessions and `rampart explain` call these same functions.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "config/config.hpp"
#include "config/subscription.hpp"
#include "directory/directory.hpp"
#include "net/certificate.hpp"
#include "net/cidr.hpp"
#include "policy/brakes.hpp"
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
    // The hub's subscribed edges (data_dir/hub/edges), for listeners with
    // subscribed_edges_only (rule "from-edge.pinned"); null: none subscribed.
    std::shared_ptr<const std::vector<config::PinnedEdge>> edges;
};

// Recipient class (DESIGN.md §2): submit to an accepted domain, or relay.
enum class RecipientClass { Submit, Relay };

// The facts of one MAIL command besides the sender: the SIZE= the client declared, and the
// largest message this session may send (limits.max_message_size less the Received header
// we add; session/received.hpp message_size_limit()).
struct MailFacts {
    std::optional<std::uint64_t> declared_size;
    std::uint64_t size_limit = std::numeric_limits<std::uint64_t>::max();
};

// Connections open when a new one arrives (the new one not counted). nullopt: not known
// (`rampart explain` without a running server): the rules say so instead of deciding.
struct ConnectionCounts {
    std::uint32_t listener = 0;   // on this listener, from anywhere
    std::uint32_t source = 0;     // on this listener, from this client address
};

// limits.max_connections and limits.max_connections_per_source (421 4.7.0). The server's
// acceptor asks it with the live counts; explain without them ("live-only").
Decision check_connection_limits(const config::Listener& l, const std::string& hostname,
                                 std::optional<ConnectionCounts> counts, Trace* trace = nullptr);
Decision check_connection(const SessionFacts& s, Trace* trace = nullptr);
// Listeners with subscribed_edges_only, right after the TLS handshake: the client
// certificate must be the pinned certificate of a subscribed edge whose address is the
// client's (rule "from-edge.pinned", 554 5.7.1 otherwise). Accept: the note names the edge,
// `edge` (if given) receives its name — the session's principal server:EDGE.
Decision check_edge_certificate(const SessionFacts& s, const std::optional<net::PeerCertificate>& cert,
                                std::string* edge = nullptr, Trace* trace = nullptr);
// Before the TLS handshake on such a listener, a command that needs the edge proven (MAIL,
// AUTH): 530 5.7.0 (RFC 3207 §4) naming STARTTLS. Pass elsewhere.
Decision check_edge_tls_first(const SessionFacts& s, Trace* trace = nullptr);
// MAIL FROM: limits.max_message_size against SIZE=, then the sender rules.
Decision check_mail(const SessionFacts& s, const smtp::Path& sender, const MailFacts& m, Trace* trace = nullptr);
Decision check_mail(const SessionFacts& s, const smtp::Path& sender, Trace* trace = nullptr);   // no SIZE=
// RCPT TO: `accepted` is the number of recipients this transaction accepted so far
// (limits.max_recipients), then the recipient rules.
Decision check_rcpt(const SessionFacts& s, const smtp::Path& sender, const smtp::Path& rcpt, std::size_t accepted,
                    Trace* trace = nullptr);
Decision check_rcpt(const SessionFacts& s, const smtp::Path& sender, const smtp::Path& rcpt, Trace* trace = nullptr);
// End of data: limits.max_received_headers against the Received header fields of the
// message (a mail loop, 554 5.4.6).
Decision check_data(const SessionFacts& s, std::size_t received_headers, Trace* trace = nullptr);
// End of data: limits.max_message_size against the message with our Received header.
Decision check_message_size(const config::Listener& l, std::uint64_t size_with_header);
// The hourly limits of an authenticated user (limits.max_messages_per_hour at MAIL,
// limits.max_recipients_per_hour at RCPT), counted by policy::Brakes. `hit`: what
// Brakes::exceeds answered on the live counts; nullopt: not known (explain without a
// running server). `recipients` names the rule at RCPT. Pass for anyone but a user.
Decision check_hourly_limit(const SessionFacts& s, bool recipients, std::optional<Brakes::Limit> hit, Trace* trace = nullptr);
// The AUTH lockout of the client address and user (limits.auth_lockout_failures), for
// explain: `left` is the lockout time left from a running server (0: not locked);
// nullopt: not known. Refuses with Brakes::lockout_reply(), what a live AUTH answers.
Decision auth_lockout_step(const SessionFacts& s, std::optional<std::chrono::milliseconds> left, Trace* trace = nullptr);
// True for check_rcpt's refusal of an unknown recipient of an authoritative domain (rule
// recipient.known, 550 5.1.1). The session and explain still ask the filter chain about
// such a recipient: the recipient filter refuses it the same way, after its tarpit.
bool unknown_recipient(const Decision& d);

// True if `grants` ("user:NAME", "group:NAME", "authenticated") names the principal.
bool grant_matches(std::span<const std::string> grants, const Principal& p);

}  // namespace rampart::policy
