// net/socket_stream.hpp — Stream over an Asio stream socket (TCP in production, a local
// socketpair in tests), with optional TLS layered on the same socket.
#pragma once

#include <memory>
#include <optional>

#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>

#include "net/stream.hpp"

namespace rampart::net {

template <class Socket>
class SocketStream final : public Stream {
public:
    explicit SocketStream(Socket socket);
    ~SocketStream() override;

    asio::awaitable<std::size_t> read_some(asio::mutable_buffer buf, std::chrono::milliseconds timeout) override;
    asio::awaitable<bool> write(std::string_view data, std::chrono::milliseconds timeout) override;
    asio::awaitable<bool> accept_tls(asio::ssl::context& ctx, std::chrono::milliseconds timeout) override;
    asio::awaitable<bool> connect_tls(asio::ssl::context& ctx, const std::string& sni, std::chrono::milliseconds timeout) override;
    std::string tls_description() const override;
    std::string tls_error() const override { return tls_error_; }
    bool tls_active() const override { return tls_.has_value(); }
    std::optional<PeerCertificate> peer_certificate() const override;
    asio::awaitable<void> shutdown_send() override;
    asio::awaitable<void> finish() override;
    void close() override;
    bool peer_gone() override;

    Socket& socket() { return socket_; }

private:
    asio::awaitable<bool> handshake(asio::ssl::context& ctx, asio::ssl::stream_base::handshake_type side,
                                    const std::string& sni, std::chrono::milliseconds timeout);
    asio::awaitable<void> tls_shutdown();
    void arm(std::chrono::milliseconds timeout);
    void disarm();
    void wait_deadline();

    Socket socket_;
    asio::steady_timer timer_;
    std::chrono::steady_clock::time_point deadline_;   // of the operation in flight (armed_)
    bool armed_ = false;     // a read, write or handshake is in flight
    bool waiting_ = false;   // timer_ has a wait pending
    bool timed_out_ = false;
    bool write_failed_ = false;
    bool tls_closed_ = false;
    std::optional<asio::ssl::stream<Socket&>> tls_;
    std::string tls_error_;
};

extern template class SocketStream<asio::ip::tcp::socket>;
extern template class SocketStream<asio::local::stream_protocol::socket>;

using TcpStream = SocketStream<asio::ip::tcp::socket>;

}  // namespace rampart::net
