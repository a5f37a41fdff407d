// net/unix_listener.cpp — create, bind, chmod and listen on a Unix-domain socket file.
#include "net/unix_listener.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "net/accept_backoff.hpp"

namespace rampart::net {

bool fits_unix_socket_address(const std::filesystem::path& path) { return path.native().size() < sizeof(sockaddr_un{}.sun_path); }

UnixListener::UnixListener(asio::any_io_executor ex, std::filesystem::path path) : ex_(std::move(ex)), path_(std::move(path)) {}

UnixListener::~UnixListener() { close(); }

Result<std::unique_ptr<UnixListener>> UnixListener::open(asio::any_io_executor ex, std::filesystem::path path, mode_t mode,
                                                         int backlog, std::string_view what) {
    std::string name(what);
    if (!fits_unix_socket_address(path))
        return Error{ENAMETOOLONG, name + " path " + path.string() + " is too long (at most 107 bytes): use a shorter server.data_dir"};
    ::unlink(path.c_str());
    std::unique_ptr<UnixListener> l(new UnixListener(ex, path));
    l->what_ = name;
    auto acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(ex);
    std::error_code ec;
    acceptor->open(asio::local::stream_protocol(), ec);
    // Made with `mode` at most (umask), then chmod in case the umask was wider than asked.
    mode_t old = ::umask(~mode & 0777);
    if (!ec) acceptor->bind(asio::local::stream_protocol::endpoint(path.string()), ec);
    ::umask(old);
    if (!ec) l->acceptor_ = std::move(acceptor);   // bound: close() removes the file from now on
    if (!ec && ::chmod(path.c_str(), mode) != 0) ec = std::error_code(errno, std::generic_category());
    if (!ec) l->acceptor_->listen(backlog, ec);
    if (ec) return Error{ec.value(), name + " " + path.string() + ": " + ec.message()};
    return l;
}

void UnixListener::accept(std::function<void(Socket)> on_connection) {
    asio::co_spawn(ex_, accept_loop(std::move(on_connection)), asio::detached);
}

asio::awaitable<void> UnixListener::accept_loop(std::function<void(Socket)> on_connection) {
    AcceptBackoff backoff(what_);
    while (acceptor_ && acceptor_->is_open()) {
        std::error_code ec;
        Socket s(ex_);
        co_await acceptor_->async_accept(s, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted) co_return;   // close(): `this` may be gone
        if (ec) {   // EMFILE and the like: back off, never spin
            co_await backoff.wait_after(ec);
            continue;
        }
        backoff.accepted();
        on_connection(std::move(s));
    }
}

void UnixListener::close() {
    if (!acceptor_) return;
    std::error_code ec;
    acceptor_->close(ec);
    acceptor_.reset();
    ::unlink(path_.c_str());
}

}  // namespace rampart::net
