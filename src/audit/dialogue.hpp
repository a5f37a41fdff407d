// audit/dialogue.hpp — one probe connection of `rampart audit` to an SMTP server, with a
// transcript: every line sent ("C: ") and received ("S: "), display-escaped, so that each
// finding can show the exact dialogue that proves it.
// Trust: everything the server sends is hostile. Replies are read with smtp::ReplyParser
// under caps (lines, bytes, line length) and every read and write has the audit's timeout;
// a reply that breaks a cap or does not come is a reply with code 0 and `failure` set.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "util/result.hpp"

namespace asio::ssl {
class context;
}
namespace rampart::net {
class Stream;
}

namespace rampart::audit {

struct Reply {
    int code = 0;                      // 0: none (failure says why)
    std::string text;                  // the lines' texts joined by ' '
    std::vector<std::string> lines;    // as received, CR LF removed (not escaped)
    std::string failure;               // "timed out", "connection closed", "reply too long", …
    bool positive() const { return code >= 200 && code < 400; }
};

class Dialogue {
public:
    ~Dialogue();
    Dialogue(const Dialogue&) = delete;
    Dialogue& operator=(const Dialogue&) = delete;

    // Connects (within `timeout`) and reads the greeting into greeting(); an error names
    // the host and what failed. A greeting other than 220 is no error: the caller decides.
    static asio::awaitable<Result<std::unique_ptr<Dialogue>>> open(asio::any_io_executor ex, const std::string& host,
                                                                   std::uint16_t port, std::chrono::milliseconds timeout);

    const Reply& greeting() const { return greeting_; }
    // The peer's address as text ("127.0.0.1", "2001:db8::1"), for address literals.
    const std::string& peer_address() const { return peer_address_; }

    // Sends the bytes as they are (no CR LF added); false if the write failed.
    asio::awaitable<bool> send(std::string_view bytes);
    // Reads one reply; the whole reply must arrive within the timeout.
    asio::awaitable<Reply> read();
    // send(line + CR LF), then read().
    asio::awaitable<Reply> command(std::string_view line);
    // EHLO `name`, and HELO if EHLO is refused.
    asio::awaitable<Reply> ehlo(std::string_view name);
    // Sends QUIT and reads replies until one is 221 or none comes (at most 16): the
    // replies before the 221, which answer commands sent earlier and not yet read.
    asio::awaitable<std::vector<Reply>> quit_and_drain();
    // Bytes the server sent that no reply read has consumed (e.g. before a TLS handshake).
    std::size_t unread() const { return in_.size(); }
    // The TLS handshake (after a 220 to STARTTLS); bytes still unread in plain text are
    // dropped first (and noted in the transcript). No certificate check: the audit is
    // about the dialogue, not the certificate.
    asio::awaitable<bool> start_tls(asio::ssl::context& ctx, const std::string& sni);

    // Appends a note ("-- TLS handshake done") to the transcript.
    void note(std::string text);
    const std::vector<std::string>& transcript() const { return transcript_; }

private:
    Dialogue() = default;

    std::unique_ptr<net::Stream> stream_;
    std::chrono::milliseconds timeout_{};
    std::string in_;
    std::string peer_address_;
    Reply greeting_;
    std::vector<std::string> transcript_;
    bool closed_ = false;
};

}  // namespace rampart::audit
