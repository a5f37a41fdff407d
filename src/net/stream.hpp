// net/stream.hpp — the byte stream a session talks over: plain TCP that may turn into TLS
// (STARTTLS), or a socketpair in tests (STYLE.md §8). Every read has a deadline.
// Errors are values: a read returns 0 on EOF, error or timeout, and says which.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>

#include "net/certificate.hpp"

namespace asio::ssl {
class context;
}

namespace rampart::net {

enum class StreamEnd { None, Eof, Timeout, Error };

class Stream {
public:
    virtual ~Stream() = default;
    // Reads at least one byte, or returns 0 and sets end().
    virtual asio::awaitable<std::size_t> read_some(asio::mutable_buffer buf, std::chrono::milliseconds timeout) = 0;
    // Writes everything; false on error (end() says which).
    virtual asio::awaitable<bool> write(std::string_view data, std::chrono::milliseconds timeout) = 0;
    // Server-side TLS handshake on this stream; false on failure (reason in tls_error()).
    virtual asio::awaitable<bool> accept_tls(asio::ssl::context& ctx, std::chrono::milliseconds timeout) = 0;
    // Client-side TLS handshake; `sni` may be empty.
    virtual asio::awaitable<bool> connect_tls(asio::ssl::context& ctx, const std::string& sni, std::chrono::milliseconds timeout) = 0;
    // "TLSv1.3 TLS_AES_256_GCM_SHA384 256/256" or "" before TLS.
    virtual std::string tls_description() const = 0;
    virtual std::string tls_error() const = 0;
    virtual bool tls_active() const = 0;
    // The leaf certificate the peer presented in the TLS handshake, if any. Servers see one
    // only where the context asked for it (listeners with auth.server); it is not verified
    // against any CA here: the caller decides (fingerprint of a directory server).
    virtual std::optional<PeerCertificate> peer_certificate() const { return std::nullopt; }
    // Stop sending (FIN) but keep reading: lets the peer read a final reply. Over TLS a
    // close_notify alert goes first (RFC 8446 §6.1).
    virtual asio::awaitable<void> shutdown_send() = 0;
    // Orderly end: close_notify over TLS (bounded wait), then close.
    virtual asio::awaitable<void> finish() = 0;
    virtual void close() = 0;
    // For a connection at rest (no command outstanding): true if the peer has closed or
    // reset it, or sent bytes nobody asked for (e.g. a 421 before closing). Does not block.
    virtual bool peer_gone() { return false; }
    StreamEnd end() const { return end_; }

protected:
    StreamEnd end_ = StreamEnd::None;
};

}  // namespace rampart::net
