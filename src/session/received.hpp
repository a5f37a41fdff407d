// session/received.hpp — the Received trace header this server prepends (RFC 5321
// §4.4, RFC 3848 protocol names). Pure: facts in, header text out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>

namespace rampart::session {

struct ReceivedFacts {
    std::string helo;           // the client's EHLO/HELO argument
    std::string client_ip;      // "192.0.2.7" or "2001:db8::1"
    std::string hostname;       // server.hostname
    bool esmtp = false;
    bool smtputf8 = false;
    bool tls = false;
    std::string tls_description;
    bool authenticated = false;
    std::string server_principal;   // "server:NAME" when an organisation server sent it
    std::string id;             // queue id
    std::string single_recipient;   // the "for" clause when there is exactly one
    std::time_t when = 0;
};

// RFC 3848: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTP...
std::string protocol_name(const ReceivedFacts& f);
// The header, CRLF-terminated and folded into lines well under 998 octets.
std::string received_header(const ReceivedFacts& f);
// The most octets received_header(f) can take whatever the queue id, the recipient (a
// path is at most 256 octets, RFC 5321 §4.5.3.1.3) and the time: what a size limit that
// counts what will be sent on keeps free for the header.
// With TLS it reserves room for the longest cipher description (kTlsDescriptionMax), so
// the limit does not depend on the cipher and `rampart explain --tls` computes it exactly.
std::size_t received_header_max(ReceivedFacts f);
inline constexpr std::size_t kTlsDescriptionMax = 100;
// The largest message a client may send in a session as it stands: `max_message_size`
// less received_header_max() of the header we would add (issue 14 item 9). Announced with
// SIZE, checked against MAIL's SIZE= (policy::check_mail); the session and `rampart explain`
// both compute it here.
struct SizeLimitFacts {
    std::string helo;
    std::string client_ip;
    std::string hostname;
    bool tls = false;
    std::string server_principal;   // "server:NAME" for an organisation server, else ""
};
std::uint64_t message_size_limit(std::uint64_t max_message_size, const SizeLimitFacts& facts);
// "Tue, 01 Dec 2026 17:00:00 +0000" (RFC 5322 §3.3).
std::string rfc5322_date(std::time_t t);

}  // namespace rampart::session
