// audit/verdicts.hpp — the pure half of `rampart audit`: which addresses the relay battery
// tries, which end-of-data variants the smuggling test sends, and how reply codes become
// open / ok / inconclusive. No sockets: audit/checks.cpp talks, this decides.
// Contract: a verdict is "open" only on evidence the server did the unsafe thing (accepted
// the recipient, answered the smuggled or injected command, listed AUTH in clear, told a
// real user from an unknown one); no reply, or a refused precondition, is inconclusive.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "audit/report.hpp"

namespace rampart::audit {

struct Verdict {
    Outcome result = Outcome::Inconclusive;
    std::string reason;
};

// One address trick of the relay battery (RCPT only, never DATA).
struct RelayCase {
    std::string id;            // "percent_hack"
    std::string title;         // "percent hack (user%foreign@domain)"
    std::string recipient;     // the RCPT TO path, without < >
    bool at_own_domain;        // the address ends in the server's own domain or its IP
};

// The battery for the server's own `domain`, a `foreign` domain it must not relay to, and
// the server's address `ip` (for address literals).
// With `mx_domain` (a domain whose MX points at the server, which the server does not
// receive for), one more case: relaying by MX alone (Postfix permit_mx_backup, sendmail
// relay_based_on_MX).
std::vector<RelayCase> relay_cases(std::string_view domain, std::string_view foreign, std::string_view ip,
                                   std::string_view mx_domain = {});

// `mail_code`/`rcpt_code`: the replies to MAIL and RCPT (0: none). `accepts_any_local_part`:
// the server accepted a random local part at its own domain (catch-all, or recipients
// checked only later), so accepting a trick addressed to that domain proves nothing.
Verdict relay_verdict(int mail_code, int rcpt_code, bool at_own_domain, bool accepts_any_local_part);

// VRFY of a likely-real name (postmaster) and of a random one.
Verdict vrfy_verdict(int known_code, int unknown_code);
// EXPN of a likely list (postmaster): 250 with lines is a disclosure.
Verdict expn_verdict(int code);

// Replies the server sent to what it should not have read as commands (the smuggled MAIL
// after a fake end of data, the command pipelined behind STARTTLS): codes of the replies
// that came after the expected one and before the reply to our QUIT.
Verdict unexpected_replies_verdict(const std::vector<int>& extra_codes, std::string_view what);

// "RSET\nNOOP\r\n" sent as one write: `first_code` answers it, `extra_codes` are the
// replies after it and before the reply to QUIT. Open only when the bare-LF-ended RSET was
// carried out and NOOP answered as a command of its own.
Verdict bare_lf_verdict(int first_code, const std::vector<int>& extra_codes);

// An end-of-data look-alike the smuggling test hides in a message body.
struct SmuggleVariant {
    std::string id;        // "lf_dot_lf"
    std::string bytes;     // "\n.\n"
};
std::vector<SmuggleVariant> smuggling_variants();

// The AUTH mechanisms an EHLO reply offers among PLAIN and LOGIN ("PLAIN LOGIN"), given
// the reply's lines as received ("250-AUTH PLAIN LOGIN"); empty: none.
std::string clear_text_auth(const std::vector<std::string>& ehlo_lines);
// True if the EHLO reply lists `keyword` (case-insensitive, "STARTTLS", "PIPELINING").
bool ehlo_has(const std::vector<std::string>& ehlo_lines, std::string_view keyword);

// The domain to test as the server's own when --to-domain is not given: the host name in
// the greeting ("220 mx.example.org ESMTP" → "example.org"; a two-label name is kept);
// empty if the greeting names no domain.
std::string domain_from_greeting(std::string_view greeting_text);

}  // namespace rampart::audit
