// smtp/reply.hpp — an SMTP reply as the client will read it (RFC 5321 §4.2, RFC 3463).
// Pure value type. Every reply is built through Reply's constructor, which checks the
// code range and that the enhanced status class matches the reply class (both are ours:
// asserted), and makes the text safe to send (it may quote a peer: never asserted on).
// Contract: every line of wire() fits RFC 5321 §4.5.3.1.5's 512 octets including the
// code, the enhanced code and CRLF (a 334 SASL challenge: RFC 4954 §4's 12288), no line
// carries a CR or another control character, and a reply has at most kMaxReplyLines lines.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rampart::smtp {

inline constexpr std::size_t kMaxReplyLineOctets = 512;        // RFC 5321 §4.5.3.1.5
inline constexpr std::size_t kMaxSaslReplyLineOctets = 12288;  // RFC 4954 §4
inline constexpr std::size_t kMaxReplyLines = 32;

// `text` made safe for a reply of `code` with `enhanced`: CR and every other control
// character except the LF that separates lines become '?', each line is cut (at a UTF-8
// boundary, marked "...") so the wire line fits, and lines past kMaxReplyLines are dropped.
// The one place peer text is bounded for a reply; Reply's constructor calls it.
std::string safe_reply_text(int code, std::string_view enhanced, std::string_view text);

struct Reply {
    int code = 0;
    std::string enhanced;  // "5.7.1"; empty for replies that carry none (220, 221, 354)
    std::string text;      // lines separated by '\n'; no CR, no LF at the end

    Reply() = default;
    // `text` may contain a peer's bytes (an EHLO argument, a file name): it is passed
    // through safe_reply_text, never asserted on.
    Reply(int code, std::string_view enhanced, std::string_view text);

    bool positive() const { return code >= 200 && code < 400; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500; }
    bool empty() const { return code == 0; }

    // The reply on the wire: "250-first\r\n250 2.0.0 last\r\n". The enhanced code is
    // written on every line when `with_enhanced` (RFC 2034 §4).
    std::string wire(bool with_enhanced = true) const;
    // One line for logs: "550 5.7.1 relaying denied".
    std::string summary() const;
};

}  // namespace rampart::smtp
