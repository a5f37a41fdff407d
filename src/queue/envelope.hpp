// queue/envelope.hpp — what travels with a message from the session to delivery: the
// SMTP envelope and the facts of its reception. A plain value (STYLE.md §2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smtp/command_parser.hpp"

namespace rampart::queue {

// What the latest delivery attempt did for one recipient (for DSNs, queue tools, logs).
enum class Outcome { None, Delivered, Deferred, Failed };

struct AttemptResult {
    Outcome outcome = Outcome::None;
    int code = 0;                 // SMTP/LMTP reply code; 0: no reply (e.g. connect failed)
    std::string status;           // enhanced status "5.1.1"; empty if none was given
    std::string diagnostic;       // the peer's reply text or our local reason
    std::string remote;           // who answered: "192.0.2.1:25", "maildir", "dns"
};

struct Recipient {
    std::string address;          // "local@domain" as received (source route dropped)
    unsigned notify = 0;          // smtp::notify flags; 0 = not given
    std::string orcpt;            // "rfc822;xtext" as received, or empty
    bool done = false;            // delivered or finally failed: never try again
    AttemptResult last;           // stored in the spool only for final failures ("failed" record)
    std::string alias;            // the alias (as the client named it) this recipient was expanded
                                  // from; empty: the client named this recipient itself. Reports
                                  // speak of the alias, never of its members (RFC 3461 §6.2.7.3).

    // The typed address (local part, domain, literal and quoted flags), parsed from the
    // text the spool stores; nullopt only for an address that never passed RCPT syntax.
    // XXX(races): the string stays the stored field while the spool format is being
    // changed elsewhere; callers that split at '@' should move to this.
    std::optional<smtp::Mailbox> mailbox() const { return smtp::parse_mailbox(address); }
};

struct Envelope {
    std::string id;               // queue id, also the spool file name
    std::int64_t received_at = 0; // unix seconds
    std::string listener;
    std::string client;           // client IP address
    std::string helo;
    std::string tls;              // "TLSv1.3 TLS_AES_256_GCM_SHA384" or empty
    // Who the client was: "anonymous", "user:NAME", "server:NAME"; empty: not recorded
    // (spooled by an older version, or a report of our own).
    std::string principal;
    std::string sender;           // empty: the null reverse path <>
    smtp::Body body = smtp::Body::Unspecified;
    bool smtputf8 = false;
    smtp::Ret ret = smtp::Ret::Unspecified;
    std::string envid;            // xtext as received
    std::vector<Recipient> recipients;
    std::uint64_t size = 0;       // message bytes as stored (Received header included)

    // Queue state, kept in records appended after the message (queue/spool_format.hpp).
    // A recipient is finally failed when done && last.outcome == Outcome::Failed.
    std::uint32_t attempts = 0;   // delivery attempts that left recipients deferred
    std::int64_t next_attempt = 0;  // unix milliseconds; 0: as soon as possible
    bool held = false;            // not tried until released
    std::string quarantine;       // a filter agent quarantined it: "agent: reason"; held until released
    bool delay_warned = false;    // the delay notice was sent (once per message)
    std::vector<std::size_t> dsn_pending;  // failed recipients whose failure DSN is not yet committed
};

}  // namespace rampart::queue
