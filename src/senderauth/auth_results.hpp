// senderauth/auth_results.hpp — the Authentication-Results header field (RFC 8601): the
// results of sender authentication as this host states them, and the removal of incoming
// fields that claim to be ours (§5: a field with our authserv-id that we did not add is a
// forgery; fields of other authserv-ids are kept, they are someone else's statement).
// Pure: values in, text out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "senderauth/dkim.hpp"
#include "senderauth/dmarc.hpp"
#include "senderauth/spf.hpp"

namespace rampart::senderauth {

struct AuthResults {
    std::string authserv_id;          // this host's name ([server] hostname)
    std::optional<SpfOutcome> spf;    // empty: SPF was not evaluated (no method result)
    std::vector<dkim::DkimOutcome> dkim;     // one per DKIM-Signature verified (RFC 6376 §6);
                                             // empty: the message is unsigned (dkim=none)
    bool dkim_checked = false;               // DKIM was evaluated: with no outcome, "dkim=none"
    std::optional<dmarc::Outcome> dmarc;     // empty: DMARC was not evaluated
};

// The whole field, "Authentication-Results: host;\r\n\tspf=pass (...) smtp.mailfrom=..."
// (folded lines joined by CRLF + TAB, no final CRLF), or "...; none" without results.
// DKIM: "dkim=<result> (reason) header.d=<d> header.s=<s> header.b=<first 8 of b=>" per
// signature (RFC 8601 §2.7.1, RFC 6008); DMARC: "dmarc=<result> (p=<published>
// dis=<disposition>; reason) header.from=<domain>" (RFC 7489 §11.2).
std::string format_authentication_results(const AuthResults& r);

// The authserv-id an Authentication-Results field value claims (RFC 8601 §2.2: the
// first token or quoted-string after optional comments), lower-cased; nullopt if none.
std::optional<std::string> authserv_id_of(std::string_view field_value);

// `message` without the top-level Authentication-Results fields whose authserv-id is
// `authserv_id` (ASCII case-insensitive); nullopt when there is none to remove (the
// message is then left alone). Fields of other authserv-ids stay, in place.
std::optional<std::string> remove_own_results(std::string_view message, std::string_view authserv_id);

}  // namespace rampart::senderauth
