// queue/dsn.hpp — delivery status notifications (RFC 3464) honouring the DSN extension
// (RFC 3461: NOTIFY, RET, ENVID, ORCPT). Pure: values in, message text out; the scheduler
// commits the result through Spool::commit as a new message from the null sender.
// Choices (RFC 3461 leaves them to the server):
//  - NOTIFY absent counts as NOTIFY=FAILURE,DELAY: failures and delay notices are sent.
//  - RET absent returns only the headers (text/rfc822-headers); RET=FULL returns the whole
//    message (message/rfc822) in failure reports. Delay and success reports always carry
//    headers only (RFC 3461 §4.3).
//  - Reports on SMTPUTF8 messages with non-ASCII addresses or headers use the RFC 6533
//    types (message/global-delivery-status, message/global[-headers]).
//  - xtext (ENVID, ORCPT) is decoded; control characters are replaced by '?' so nothing
//    a client sent can add header lines.
//  - Aliases (RFC 3461 §6.2.7.3, option "expanded"): recipients that an alias expanded to
//    (Recipient::alias) are never named. Their alias is reported instead, once: on
//    success "expanded" when it has several members (its NOTIFY=SUCCESS is not repeated
//    for the members), otherwise its one member's action; a failed or delayed member
//    shows as a failed or delayed alias, with its status but not its diagnostic.
//  - Our own hops are not named: a Remote-MTA appears only for a network peer of the
//    recipient's domain (AttemptResult::remote "host:port"), never for "maildir",
//    "lmtp", "smarthost" (whose reply text is still quoted) or "dns".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "queue/envelope.hpp"

namespace rampart::queue {

enum class DsnAction { Failed, Delayed, Delivered, Relayed, Expanded };
std::string_view action_name(DsnAction a);

// Whether a recipient whose RCPT carried `notify` (smtp::notify flags, 0 = absent) gets a
// report with this action. The null sender never gets one (the caller checks).
bool wants_dsn(unsigned notify, DsnAction action);

struct DsnRecipient {
    std::size_t index = 0;        // into the original envelope's recipients
    DsnAction action = DsnAction::Failed;
    AttemptResult result;         // Status, Remote-MTA, Diagnostic-Code
};

struct DsnRequest {
    std::string reporting_mta;    // our host name (Reporting-MTA: dns; ...)
    std::vector<DsnRecipient> recipients;   // all with one kind of action (failed / delayed / success)
    std::int64_t now = 0;         // unix seconds (Date, Last-Attempt-Date)
    std::int64_t will_retry_until = 0;   // unix seconds, for delayed reports; 0: omitted
    std::string unique;           // fresh token for the MIME boundary and Message-ID
};

struct Dsn {
    std::string text;             // the whole message, CRLF line ends
    bool eight_bit = false;       // contains bytes > 127: send with BODY=8BITMIME
};

// The success notices for the recipients at `delivered` (those one attempt delivered or
// relayed, in order): "delivered" for a local mailbox, "relayed" for any other hop, and
// for members of an alias the alias's notice described above, sent with its first
// delivered member (a member delivered by an earlier attempt means it was sent then).
std::vector<DsnRecipient> success_notices(const Envelope& env, const std::vector<std::size_t>& delivered);

// `message` is the original as spooled (Received header first, CRLF line ends).
Dsn build_dsn(const DsnRequest& req, const Envelope& original, std::string_view message);

// RFC 5322 date-time in UTC: "Mon, 23 Nov 2026 12:05:50 +0000".
std::string rfc5322_date(std::int64_t unix_seconds);

}  // namespace rampart::queue
