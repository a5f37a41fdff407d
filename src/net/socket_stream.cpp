// net/socket_stream.cpp — reads and writes with deadlines: a timer cancels the socket's
// pending operation when it fires, and the operation then reports Timeout.
#include "net/socket_stream.hpp"

#include <poll.h>

#include <cerrno>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "net/cidr.hpp"
#include "util/metric_catalog.hpp"

namespace rampart::net {

template <class Socket>
SocketStream<Socket>::SocketStream(Socket socket)
    : socket_(std::move(socket)), timer_(socket_.get_executor()) {}

template <class Socket>
SocketStream<Socket>::~SocketStream() {
    close();
}

// The deadline timer is lazy (issue 13): arm() only moves deadline_ and disarm() only
// clears armed_; the timer is re-armed only when the new deadline is earlier than the
// pending expiry (or none is pending). When it fires it checks: no operation in flight →
// it stops; the deadline moved on → it waits again until then; else the operation timed
// out. A read or write thus costs no timer insertion, cancellation and cancelled-handler
// completion each time, only when the deadline shrinks.
template <class Socket>
void SocketStream<Socket>::arm(std::chrono::milliseconds timeout) {
    timed_out_ = false;
    armed_ = true;
    deadline_ = std::chrono::steady_clock::now() + timeout;
    if (waiting_ && timer_.expiry() <= deadline_) return;   // it fires first and waits on
    timer_.expires_at(deadline_);   // cancels a pending wait: its handler sees the error and returns
    wait_deadline();
}

template <class Socket>
void SocketStream<Socket>::wait_deadline() {
    waiting_ = true;
    timer_.async_wait([this](const std::error_code& ec) {
        if (ec) return;   // cancelled: re-armed earlier, closed or destroyed (this may be gone)
        waiting_ = false;
        if (!armed_) return;
        if (std::chrono::steady_clock::now() < deadline_) {
            timer_.expires_at(deadline_);
            wait_deadline();
            return;
        }
        timed_out_ = true;
        std::error_code ignored;
        socket_.cancel(ignored);
    });
}

template <class Socket>
void SocketStream<Socket>::disarm() {
    armed_ = false;
}

template <class Socket>
asio::awaitable<std::size_t> SocketStream<Socket>::read_some(asio::mutable_buffer buf, std::chrono::milliseconds timeout) {
    if (end_ != StreamEnd::None) co_return 0;
    std::error_code ec;
    arm(timeout);
    std::size_t n = tls_ ? co_await tls_->async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec))
                         : co_await socket_.async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (n > 0) co_return n;
    if (timed_out_) end_ = StreamEnd::Timeout;
    else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) end_ = StreamEnd::Eof;
    else end_ = StreamEnd::Error;
    co_return 0;
}

template <class Socket>
asio::awaitable<bool> SocketStream<Socket>::write(std::string_view data, std::chrono::milliseconds timeout) {
    // A read that timed out or hit EOF does not stop us from sending a last reply.
    if (write_failed_ || !socket_.is_open()) co_return false;
    std::error_code ec;
    if (!tls_) {
        // Plain: try the write now; a reply almost always fits the socket buffer, and then
        // it costs neither a deadline nor a suspension (issue 13). What is left waits below.
        if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
        std::size_t n = ec ? 0 : socket_.write_some(asio::buffer(data), ec);
        if (!ec && n == data.size()) co_return true;
        if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
            write_failed_ = true;
            end_ = StreamEnd::Error;
            co_return false;
        }
        data.remove_prefix(n);
        ec.clear();
    }
    arm(timeout);
    if (tls_) co_await asio::async_write(*tls_, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
    else co_await asio::async_write(socket_, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (!ec) co_return true;
    write_failed_ = true;
    end_ = timed_out_ ? StreamEnd::Timeout : StreamEnd::Error;
    co_return false;
}

namespace {
// rampart_tls_handshakes_total{direction,result}: the four series, found once.
metrics::Counter& handshake_counter(bool inbound, bool ok) {
    static metrics::Counter* series[4] = {
        &metrics::catalog().tls_handshakes.with({"outbound", "failed"}), &metrics::catalog().tls_handshakes.with({"outbound", "ok"}),
        &metrics::catalog().tls_handshakes.with({"inbound", "failed"}), &metrics::catalog().tls_handshakes.with({"inbound", "ok"})};
    return *series[(inbound ? 2 : 0) + (ok ? 1 : 0)];
}
}  // namespace

template <class Socket>
asio::awaitable<bool> SocketStream<Socket>::handshake(asio::ssl::context& ctx, asio::ssl::stream_base::handshake_type side,
                                                      const std::string& sni, std::chrono::milliseconds timeout) {
    tls_.emplace(socket_, ctx);
    SSL* ssl = tls_->native_handle();
    if (side == asio::ssl::stream_base::client && !sni.empty()) {
        // RFC 6066 §3: no address literals in SNI. With verification on, the peer's
        // certificate must name `sni` (DNS name, or IP address for a literal).
        std::string name = sni.back() == '.' ? sni.substr(0, sni.size() - 1) : sni;
        bool literal = IpAddress::parse(name).has_value();
        if (!literal) SSL_set_tlsext_host_name(ssl, name.c_str());
        if (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) {
            if (literal) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
            else SSL_set1_host(ssl, name.c_str());
        }
    }
    std::error_code ec;
    arm(timeout);
    co_await tls_->async_handshake(side, asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    handshake_counter(side == asio::ssl::stream_base::server, !ec).inc();
    if (ec) {
        tls_error_ = timed_out_ ? "handshake timed out" : ec.message();
        long verify = SSL_get_verify_result(ssl);
        if (!timed_out_ && verify != X509_V_OK)
            tls_error_ += std::string(": certificate verification failed: ") + X509_verify_cert_error_string(verify) +
                          (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH ? " (expected " + sni + ")" : "");
        end_ = StreamEnd::Error;
        co_return false;
    }
    co_return true;
}

template <class Socket>
asio::awaitable<bool> SocketStream<Socket>::accept_tls(asio::ssl::context& ctx, std::chrono::milliseconds timeout) {
    co_return co_await handshake(ctx, asio::ssl::stream_base::server, std::string(), timeout);
}

template <class Socket>
asio::awaitable<bool> SocketStream<Socket>::connect_tls(asio::ssl::context& ctx, const std::string& sni, std::chrono::milliseconds timeout) {
    co_return co_await handshake(ctx, asio::ssl::stream_base::client, sni, timeout);
}

template <class Socket>
std::string SocketStream<Socket>::tls_description() const {
    if (!tls_) return {};
    SSL* ssl = const_cast<asio::ssl::stream<Socket&>&>(*tls_).native_handle();
    const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
    int alg_bits = 0;
    int bits = c ? SSL_CIPHER_get_bits(c, &alg_bits) : 0;
    std::string out = SSL_get_version(ssl);
    if (c) out += std::string(" ") + SSL_CIPHER_get_name(c) + " " + std::to_string(bits) + "/" + std::to_string(alg_bits);
    return out;
}

template <class Socket>
std::optional<PeerCertificate> SocketStream<Socket>::peer_certificate() const {
    if (!tls_) return std::nullopt;
    SSL* ssl = const_cast<asio::ssl::stream<Socket&>&>(*tls_).native_handle();
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (!cert) return std::nullopt;
    return describe(cert);
}

namespace {
constexpr std::chrono::milliseconds kCloseNotifyTimeout{std::chrono::seconds(2)};
}

// close_notify, then a bounded wait for the peer's (a peer still sending gets cut off). Once.
template <class Socket>
asio::awaitable<void> SocketStream<Socket>::tls_shutdown() {
    if (!tls_ || tls_closed_ || write_failed_ || !socket_.is_open()) co_return;
    tls_closed_ = true;
    std::error_code ec;
    arm(kCloseNotifyTimeout);
    co_await tls_->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    disarm();
}

template <class Socket>
asio::awaitable<void> SocketStream<Socket>::shutdown_send() {
    co_await tls_shutdown();
    std::error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_send, ignored);
}

template <class Socket>
asio::awaitable<void> SocketStream<Socket>::finish() {
    co_await tls_shutdown();
    close();
}

template <class Socket>
void SocketStream<Socket>::close() {
    std::error_code ignored;
    timer_.cancel();
    waiting_ = false;
    if (socket_.is_open()) socket_.close(ignored);
}

template <class Socket>
bool SocketStream<Socket>::peer_gone() {
    if (!socket_.is_open() || end_ != StreamEnd::None || write_failed_) return true;
    pollfd p{socket_.native_handle(), POLLIN, 0};
    int r = ::poll(&p, 1, 0);
    if (r == 0) return false;                          // nothing to read: still there
    if (r < 0) return errno != EINTR;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return true;
    // Readable: end of stream (the peer closed: CLOSE-WAIT on our side), or bytes the
    // peer sent unasked; either way the connection cannot carry another transaction.
    return true;
}

template class SocketStream<asio::ip::tcp::socket>;
template class SocketStream<asio::local::stream_protocol::socket>;

}  // namespace rampart::net
