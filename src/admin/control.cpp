// admin/control.cpp — the control socket (server and client).
#include "admin/control.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "net/unix_listener.hpp"
#include "util/log.hpp"

namespace rampart::admin {

using Socket = asio::local::stream_protocol::socket;

namespace {

constexpr std::size_t kMaxRequest = 4096;
constexpr auto kRequestTimeout = std::chrono::seconds(10);

bool peer_allowed(Socket& s) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
    return cred.uid == 0 || cred.uid == ::getuid();
}

}  // namespace

int connect_unix_socket(const std::filesystem::path& p) {
    if (!net::fits_unix_socket_address(p)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, p.c_str(), p.native().size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        ::close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

std::filesystem::path control_socket_path(const std::filesystem::path& data_dir) { return data_dir / "control.sock"; }

struct ControlServer::Impl {
    asio::any_io_executor ex;
    std::filesystem::path path;
    Handler handler;
    std::unique_ptr<net::UnixListener> listener;

    static asio::awaitable<void> serve(Socket s, Handler handler) {
        if (!peer_allowed(s)) {
            log::warn("control.refused", {{"reason", "peer is neither root nor the server's user"}});
            co_return;
        }
        asio::steady_timer deadline(s.get_executor(), kRequestTimeout);
        deadline.async_wait([&s](std::error_code ec) {
            if (!ec) s.close(ec);
        });
        std::string line;
        std::error_code ec;
        std::size_t n = co_await asio::async_read_until(s, asio::dynamic_buffer(line, kMaxRequest), '\n',
                                                        asio::redirect_error(asio::use_awaitable, ec));
        deadline.cancel();
        std::string response;
        if (ec) {
            if (!s.is_open()) co_return;
            response = "error\nrequest too long or incomplete\n";
        } else {
            line.resize(n - 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            log::info("control.request", {{"request", line}});
            response = co_await handler(line);
        }
        co_await asio::async_write(s, asio::buffer(response), asio::redirect_error(asio::use_awaitable, ec));
        s.shutdown(Socket::shutdown_both, ec);
    }
};

ControlServer::ControlServer(asio::any_io_executor ex, std::filesystem::path socket_path, Handler handler)
    : impl_(std::make_unique<Impl>()) {
    impl_->ex = std::move(ex);
    impl_->path = std::move(socket_path);
    impl_->handler = std::move(handler);
}

ControlServer::~ControlServer() { close(); }

void ControlServer::close() { impl_->listener.reset(); }

Result<Ok> ControlServer::open() {
    const std::filesystem::path& p = impl_->path;
    if (int fd = connect_unix_socket(p); fd >= 0) {
        ::close(fd);
        return Error{EADDRINUSE, "another server answers on " + p.string() + " (same server.data_dir?)"};
    }
    // Anything still at `p` is the stale socket of a server that died: replaced.
    auto listener = net::UnixListener::open(impl_->ex, p, 0600, 16, "control socket");
    if (!listener) return listener.error();
    impl_->listener = std::move(*listener);
    impl_->listener->accept([ex = impl_->ex, handler = impl_->handler](Socket s) {
        asio::co_spawn(ex, Impl::serve(std::move(s), handler), asio::detached);
    });
    return Ok{};
}

Result<std::string> control_request(const std::filesystem::path& socket_path, const std::string& request) {
    int fd = connect_unix_socket(socket_path);
    if (fd < 0) {
        int e = errno;
        return Error{e, "no rampart server answers on " + socket_path.string() + " (" + std::strerror(e) +
                            "): is `rampart serve` running with this configuration?"};
    }
    timeval tv{60, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string line = request + "\n";
    std::size_t off = 0;
    while (off < line.size()) {
        ssize_t w = ::write(fd, line.data() + off, line.size() - off);
        if (w <= 0) {
            int e = errno;
            ::close(fd);
            return errno_error(e, "write to " + socket_path.string());
        }
        off += static_cast<std::size_t>(w);
    }
    std::string out;
    char buf[8192];
    while (true) {
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r == 0) break;
        if (r < 0) {
            int e = errno;
            ::close(fd);
            return errno_error(e, "read from " + socket_path.string());
        }
        out.append(buf, static_cast<std::size_t>(r));
        if (out.size() > (256u << 20)) break;
    }
    ::close(fd);
    return out;
}

}  // namespace rampart::admin
