// smtp/client.hpp — SMTP client connection for delivery (RFC 5321 §4, PIPELINING,
// STARTTLS, SIZE, 8BITMIME, SMTPUTF8, CHUNKING, DSN). One object is one connection and
// may carry several transactions. With `lmtp` set it speaks LMTP (RFC 2033): LHLO instead
// of EHLO, and one reply per accepted recipient after the data.
// Trust: replies are the peer's; they are parsed defensively and never asserted on.
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

namespace rampart::smtp {

struct PeerReply {
    int code = 0;              // 0: no reply (connection failed)
    std::string text;          // all lines joined by ' ', enhanced code included
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
    bool auth_external = false;       // the context presents a client certificate: AUTH EXTERNAL where offered
    std::string auth_user;            // SASL PLAIN/LOGIN after TLS (never in clear); empty: none
    std::string auth_password;
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
    std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};   // RFC 5321 §4.5.3.2
    std::chrono::milliseconds data_timeout{std::chrono::minutes(10)};
    bool lmtp = false;                                        // RFC 2033; the peer may be a unix socket
};

// Why no usable connection was opened. `status` is the enhanced status code the recipients
// are deferred with (RFC 3463): 4.4.1 no answer, 4.7.4 TLS required but not offered,
// 4.7.5 TLS handshake or certificate check failed, 4.7.0 authentication failed.
struct OpenError {
    int code = 0;              // errno where one applies
    std::string message;       // for logs
    std::string status = "4.4.1";
};

struct TransactionResult {
    PeerReply mail;                          // reply to MAIL FROM
    std::vector<PeerReply> rcpt;             // one per recipient sent, in order
    PeerReply data;                          // final reply after the data (LMTP: the first one)
    // LMTP only: one reply per recipient whose RCPT was accepted, in RCPT order, when the
    // data was sent (RFC 2033 §4.2); data == lmtp_data.front() then.
    std::vector<PeerReply> lmtp_data;
    bool connection_usable = false;          // may carry another transaction
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
    asio::awaitable<void> quit();
    std::string peer_name() const { return peer_; }
    std::string tls() const;

private:
    ClientConnection() = default;
    asio::awaitable<PeerReply> read_reply(std::chrono::milliseconds timeout);
    asio::awaitable<bool> write(std::string_view data, std::chrono::milliseconds timeout);
    asio::awaitable<PeerReply> command(std::string_view line);
    asio::awaitable<bool> ehlo();
    asio::awaitable<Result<Ok>> connect_stream(asio::any_io_executor ex, const config::Endpoint& peer);
    // LMTP: after the data, the replies of the 2nd..nth accepted recipient (RFC 2033 §4.2).
    asio::awaitable<void> read_lmtp_replies(TransactionResult& res);
    bool has(std::string_view ext) const;
    bool offers_auth(std::string_view mechanism) const;
    asio::awaitable<Result<Ok, OpenError>> authenticate();

    std::unique_ptr<net::Stream> stream_;
    ClientOptions opt_;
    std::string peer_;
    std::string in_;
    std::vector<std::string> extensions_;    // upper-case EHLO keywords with arguments
    std::uint64_t peer_size_limit_ = 0;
};

// Parses one complete reply from `buf` starting at `pos`; returns false if incomplete.
// Malformed lines yield code 0 with the text, so callers treat them as failures.
bool parse_peer_reply(std::string_view buf, std::size_t& pos, PeerReply& out);

}  // namespace rampart::smtp
