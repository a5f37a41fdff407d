// smtp/command_parser.hpp — one SMTP command line → a Command value (RFC 5321 §4.1,
// ESMTP parameters of RFC 1870, 6152, 6531, 3461, 3030). Pure: no state, no I/O. The
// session decides whether the command is allowed now; this only decides what it says.
// Input: the line without its CRLF; the caller has already refused bare CR/LF.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/address.hpp"
#include "smtp/reply.hpp"

namespace rampart::smtp {

enum class Verb { Helo, Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Expn, Help, StartTls, Auth, Unknown };

enum class Body { Unspecified, SevenBit, EightBitMime };
enum class Ret { Unspecified, Full, Hdrs };

struct MailParams {
    std::optional<std::uint64_t> size;   // SIZE= (RFC 1870)
    Body body = Body::Unspecified;       // BODY= (RFC 6152)
    bool smtputf8 = false;               // SMTPUTF8 (RFC 6531)
    Ret ret = Ret::Unspecified;          // RET= (RFC 3461)
    std::string envid;                   // ENVID=, xtext as received (RFC 3461)
};

namespace notify {
inline constexpr unsigned Never = 1, Success = 2, Failure = 4, Delay = 8;
}

struct RcptParams {
    unsigned notify = 0;                 // 0: not given
    std::string orcpt;                   // ORCPT= "rfc822;xtext" as received
};

struct Command {
    Verb verb = Verb::Unknown;
    std::string argument;                // HELO/EHLO domain, VRFY/HELP text, AUTH args
    Path path;                           // MAIL/RCPT
    MailParams mail;
    RcptParams rcpt;
    std::uint64_t chunk_size = 0;        // BDAT
    bool last_chunk = false;             // BDAT ... LAST
    std::optional<Reply> error;          // set when the line is malformed
};

// `smtputf8` is the transaction's SMTPUTF8 flag; it governs RCPT addresses. MAIL carries
// its own flag in its parameters.
Command parse_command(std::string_view line, bool smtputf8);

// RFC 3461 §4 xtext: "+" followed by two upper-case hex digits encodes a byte.
bool valid_xtext(std::string_view s);
std::string decode_xtext(std::string_view s);
std::string encode_xtext(std::string_view s);
// RFC 3461 §4.2 ORCPT value: addr-type ";" xtext, addr-type an atom (RFC 5322 §3.2.3),
// at most 500 characters.
bool valid_orcpt(std::string_view value);

std::string_view verb_name(Verb v);

}  // namespace rampart::smtp
