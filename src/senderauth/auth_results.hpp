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

#include "senderauth/spf.hpp"

namespace rampart::senderauth {

// Filled by the DKIM step (RFC 6376 §6, result names of RFC 8601 §2.7.1): one per
// DKIM-Signature verified. Placeholder until that step is wired into the agent.
struct DkimOutcome {
    enum class Result { None, Pass, Fail, Policy, Neutral, TempError, PermError };
    Result result = Result::None;
    std::string domain;      // d= (header.d)
    std::string selector;    // s= (header.s)
    std::string reason;      // comment
};
std::string_view dkim_result_name(DkimOutcome::Result r);

// Filled by the DMARC step (RFC 7489 §11.2). Placeholder until that step is wired in.
struct DmarcOutcome {
    enum class Result { None, Pass, Fail, TempError, PermError };
    Result result = Result::None;
    std::string domain;      // the RFC5322.From domain (header.from)
    std::string policy;      // the published p= ("none", "quarantine", "reject"), for the comment
    std::string reason;
};
std::string_view dmarc_result_name(DmarcOutcome::Result r);

struct AuthResults {
    std::string authserv_id;          // this host's name ([server] hostname)
    std::optional<SpfOutcome> spf;    // empty: SPF was not evaluated (no method result)
    std::vector<DkimOutcome> dkim;
    std::optional<DmarcOutcome> dmarc;
};

// The whole field, "Authentication-Results: host;\r\n\tspf=pass (...) smtp.mailfrom=..."
// (folded lines joined by CRLF + TAB, no final CRLF), or "...; none" without results.
std::string format_authentication_results(const AuthResults& r);

// The authserv-id an Authentication-Results field value claims (RFC 8601 §2.2: the
// first token or quoted-string after optional comments), lower-cased; nullopt if none.
std::optional<std::string> authserv_id_of(std::string_view field_value);

// `message` without the top-level Authentication-Results fields whose authserv-id is
// `authserv_id` (ASCII case-insensitive); nullopt when there is none to remove (the
// message is then left alone). Fields of other authserv-ids stay, in place.
std::optional<std::string> remove_own_results(std::string_view message, std::string_view authserv_id);

}  // namespace rampart::senderauth
