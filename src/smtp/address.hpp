// smtp/address.hpp — RFC 5321 §4.1.2 paths and mailboxes (with RFC 6531 UTF-8 when the
// transaction declared SMTPUTF8). Pure: bytes in, a value or a precise error out.
// Trust: input is the peer's, unvalidated. Source routes are parsed and dropped (RFC 5321
// §3.3 / Appendix C): the mailbox after ':' is the only destination that counts.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace rampart::smtp {

struct Mailbox {
    std::string local;        // as written, quotes included: "a b" or john.doe
    std::string domain;       // as written (no brackets stripped): example.test or [192.0.2.1]
    bool literal = false;     // domain is an address literal
    bool quoted = false;      // local part is a Quoted-string

    // "local@domain" exactly as it travels in SMTP.
    std::string text() const { return domain.empty() ? local : local + "@" + domain; }
    // Domain lower-cased (ASCII letters only) for comparisons.
    std::string domain_key() const;
    // Local part with quotes and quoted-pairs removed (the mailbox name it denotes).
    std::string local_unquoted() const;
    // The one form every look-up of this mailbox uses (RFC 5321 §4.1.2: "alice" and
    // alice, "a\b" and ab are the same mailbox): local_unquoted() "@" domain_key(), or
    // the unquoted local part alone without a domain (<Postmaster>). Unambiguous: the
    // domain holds no '@', so the last '@' splits it. Case of the local part is kept;
    // whether it matters is the directory's choice (directory/mailbox.hpp folds it).
    std::string key() const;
};

struct Path {
    bool null = false;             // "<>"
    bool source_route = false;     // "<@relay:user@domain>" was written; the route was dropped
    Mailbox mailbox;
    std::string text() const { return null ? std::string() : mailbox.text(); }
};

struct AddressError {
    int code;                 // 501 (syntax) or 553 (mailbox name not allowed)
    std::string enhanced;     // "5.1.3", "5.1.7", "5.6.7" ...
    std::string message;      // names what is wrong, client-safe
};

using PathResult = std::variant<Path, AddressError>;

enum class PathKind { Reverse, Forward };

// Parses "<...>" at the start of `text`; `consumed` receives the byte count used so the
// caller can parse ESMTP parameters after it. Reverse paths may be "<>"; forward paths may
// be "<Postmaster>" without a domain (RFC 5321 §4.5.1).
PathResult parse_path(std::string_view text, PathKind kind, bool smtputf8, std::size_t* consumed);

// A mailbox as the envelope stores it, "local@domain" without angle brackets (source route
// already dropped), or "Postmaster" alone; nullopt if it is not RFC 5321 (RFC 6531 with
// `smtputf8`) syntax. The typed form of queue::Recipient::address.
std::optional<Mailbox> parse_mailbox(std::string_view text, bool smtputf8 = true);

// EHLO/HELO argument (RFC 5321 §4.1.1.1): a Domain or an IPv4/IPv6 address literal, at
// most 255 octets. Liberal where real clients are: labels may hold '_' (Windows host
// names) and start or end with '-', a final dot is allowed, and a bare dotted quad is a
// domain as far as syntax goes. Refused: control characters, spaces, empty labels,
// labels over 63 octets, general address literals, and any 8-bit byte — the client
// cannot know yet whether its messages will be SMTPUTF8, and a U-label host always has
// its A-label (xn--) form (RFC 5890), which is what our Received header must carry.
bool valid_helo_argument(std::string_view s);

// True if `s` is well-formed UTF-8 without overlongs or surrogates.
bool valid_utf8(std::string_view s);

}  // namespace rampart::smtp
