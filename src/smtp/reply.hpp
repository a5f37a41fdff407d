// smtp/reply.hpp — an SMTP reply as the client will read it (RFC 5321 §4.2, RFC 3463).
// Pure value type. Every reply is built through Reply's constructor, which checks the
// code range, that the enhanced status class matches the reply class, and the length.
#pragma once

#include <string>
#include <string_view>

namespace rampart::smtp {

struct Reply {
    int code = 0;
    std::string enhanced;  // "5.7.1"; empty for replies that carry none (220, 221, 354)
    std::string text;      // lines separated by '\n'; no CR, no LF at the end

    Reply() = default;
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
