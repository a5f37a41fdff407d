// delivery/client.hpp — SMTP client connection for delivery (RFC 5321 §4, PIPELINING,
// STARTTLS, SIZE, 8BITMIME, SMTPUTF8, CHUNKING, DSN). One object is one connection and
// may carry several transactions. With `lmtp` set it speaks LMTP (RFC 2033): LHLO instead
// of EHLO, and one reply per accepted recipient after the data.
// Trust: replies are the peer's; they are parsed defensively and never asserted on. A
// hostile next hop can neither grow our memory (each reply is capped in lines, bytes and
// line length) nor hold us (each reply read has a deadline, RFC 5321 §4.5.3.2, and the
// whole attempt one more: ClientOptions::deadline / set_deadline()). A connection that
// ran into a limit is failed, never reused; `limit` names the limit in logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "config/config.hpp"
#include "queue/envelope.hpp"
#include "util/result.hpp"

namespace asio::ssl {
class context;
}
namespace rampart::net {
class Stream;
}

namespace rampart::delivery {

// Caps on one reply (RFC 5321 §4.5.3.1.5 allows 512 octets per reply line and sets no
// line count; real EHLO replies have some 20 lines). Past any of them the reply fails.
inline constexpr std::size_t kMaxReplyLines = 256;
inline constexpr std::size_t kMaxReplyBytes = 64 * 1024;
inline constexpr std::size_t kMaxReplyLineLength = 2048;   // lenient: 4 × the RFC's 512

using Deadline = std::chrono::steady_clock::time_point;

struct PeerReply {
    int code = 0;              // 0: no reply (connection failed)
    std::string text;          // all lines joined by ' ', enhanced code included
    // Which of our limits the peer ran into (code 0 then): "reply_lines", "reply_bytes",
    // "reply_line_length", "reply_timeout", "write_timeout", "attempt_timeout"; empty: none.
    std::string limit;
    PeerReply() = default;
    PeerReply(int c, std::string t, std::string l = {}) : code(c), text(std::move(t)), limit(std::move(l)) {}
    bool positive() const { return code >= 200 && code < 400; }
    bool permanent() const { return code >= 500 && code < 600; }
    std::string summary() const { return code == 0 ? text : std::to_string(code) + " " + text; }
    // The enhanced status code the text starts with (RFC 3463, "5.1.1"), or "".
    std::string status() const;
};

struct ClientOptions {
    std::string helo_name;
    config::OutboundTls tls = config::OutboundTls::Opportunistic;
    asio::ssl::context* tls_context = nullptr;
    std::string tls_name;                                     // SNI and name check
    std::vector<std::string> tls_fingerprints;                // non-empty: the peer's certificate must be one of these (pinning)
    bool auth_external = false;       // the context presents a client certificate: AUTH EXTERNAL where offered
    std::string auth_user;            // SASL PLAIN/LOGIN after TLS (never in clear); empty: none
    std::string auth_password;
    // Each reply is awaited at most this long (RFC 5321 §4.5.3.2 defaults), and never past
    // `deadline`, which bounds the whole attempt (connect, TLS, transactions).
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
    std::chrono::milliseconds greeting_timeout{std::chrono::minutes(5)};    // §4.5.3.2.1: the 220
    std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};     // §4.5.3.2.2-3: EHLO, MAIL, RCPT, ...
    std::chrono::milliseconds data_init_timeout{std::chrono::minutes(2)};   // §4.5.3.2.4: the 354
    std::chrono::milliseconds data_block_timeout{std::chrono::minutes(3)};  // §4.5.3.2.5: each block of data sent
    std::chrono::milliseconds data_timeout{std::chrono::minutes(10)};       // §4.5.3.2.6: the reply to the final dot
    Deadline deadline = Deadline::max();
    bool lmtp = false;                                        // RFC 2033; the peer may be a unix socket
};

// Why no usable connection was opened. `status` is the enhanced status code the recipients
// are deferred with (RFC 3463): 4.4.1 no answer, 4.7.4 TLS required but not offered,
// 4.7.5 TLS handshake or certificate check failed, 4.7.0 authentication failed.
struct OpenError {
    int code = 0;              // errno where one applies
    std::string message;       // for logs
    std::string status = "4.4.1";
    std::string limit;         // as PeerReply::limit: the peer ran into one of our limits
    OpenError() = default;
    OpenError(int c, std::string m, std::string s = "4.4.1", std::string l = {})
        : code(c), message(std::move(m)), status(std::move(s)), limit(std::move(l)) {}
};

struct TransactionResult {
    PeerReply mail;                          // reply to MAIL FROM
    std::vector<PeerReply> rcpt;             // one per recipient sent, in order
    PeerReply data;                          // final reply after the data (LMTP: the first one)
    // LMTP only: one reply per recipient whose RCPT was accepted, in RCPT order, when the
    // data was sent (RFC 2033 §4.2); data == lmtp_data.front() then.
    std::vector<PeerReply> lmtp_data;
    bool connection_usable = false;          // may carry another transaction
    std::string limit;                       // as PeerReply::limit, for the whole transaction
};

class ClientConnection {
public:
    ~ClientConnection();
    // Connects (TCP, or a unix socket when peer.host starts with '/'), reads the greeting,
    // sends EHLO (HELO fallback; LMTP: LHLO) and STARTTLS per policy, then authenticates:
    // PLAIN/LOGIN with auth_user (only over TLS), else EXTERNAL when a client certificate
    // is presented and the peer offers it.
    // The error text is for logs.
    static asio::awaitable<Result<std::unique_ptr<ClientConnection>, OpenError>> open(asio::any_io_executor ex,
                                                                             const config::Endpoint& peer,
                                                                             ClientOptions options);
    // One transaction for the recipients at `indices` of `env`.
    asio::awaitable<TransactionResult> send(const queue::Envelope& env, const std::vector<std::size_t>& indices,
                                            std::string_view message);
    // Sends QUIT, waits for its reply (at most command_timeout, and not past the deadline)
    // and closes.
    asio::awaitable<void> quit();
    // The deadline of the attempt the connection serves now (a pooled connection gets the
    // deadline of each attempt that reuses it).
    void set_deadline(Deadline d) { opt_.deadline = d; }
    // At rest between transactions: true if the peer closed the connection or sent
    // something unasked; such a connection is closed rather than reused.
    bool peer_gone() const;
    std::string peer_name() const { return peer_; }
    std::string tls() const;

private:
    ClientConnection() = default;
    // One reply, within `timeout` and the deadline; with `lines`, each line as received
    // (CR LF removed). Enforces the kMaxReply* caps.
    asio::awaitable<PeerReply> read_reply(std::chrono::milliseconds timeout, std::vector<std::string>* lines = nullptr);
    asio::awaitable<bool> write(std::string_view data, std::chrono::milliseconds timeout);
    // The message data in blocks, each written within data_block_timeout.
    asio::awaitable<bool> write_data(std::string_view data);
    asio::awaitable<PeerReply> command(std::string_view line, std::chrono::milliseconds timeout);
    asio::awaitable<PeerReply> command(std::string_view line) { return command(line, opt_.command_timeout); }
    // min(timeout, time left before the deadline); zero when the deadline has passed.
    std::chrono::milliseconds bounded(std::chrono::milliseconds timeout) const;
    asio::awaitable<bool> ehlo();
    asio::awaitable<Result<Ok>> connect_stream(asio::any_io_executor ex, const config::Endpoint& peer);
    // LMTP: after the data, the replies of the 2nd..nth accepted recipient (RFC 2033 §4.2).
    asio::awaitable<void> read_lmtp_replies(TransactionResult& res);
    // After 354: the message dot-stuffed, then the reply (LMTP: one per recipient) into
    // `res`; false when the connection was lost while sending (res says so).
    asio::awaitable<bool> send_data_after_354(TransactionResult& res, std::string_view message);
    bool has(std::string_view ext) const;
    bool offers_auth(std::string_view mechanism) const;
    asio::awaitable<Result<Ok, OpenError>> authenticate();

    std::unique_ptr<net::Stream> stream_;
    ClientOptions opt_;
    std::string peer_;
    std::string in_;
    std::vector<std::string> extensions_;    // upper-case EHLO keywords with arguments
    std::uint64_t peer_size_limit_ = 0;
    std::string limit_;                      // the first limit the peer ran into
    std::string limit_detail_;
    std::string limit_text() const { return limit_detail_.empty() ? std::string() : ": " + limit_detail_; }
};

}  // namespace rampart::delivery
