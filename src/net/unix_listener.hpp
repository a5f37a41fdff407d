// net/unix_listener.hpp — a listening Unix-domain socket file in data_dir: the control
// socket (admin/control) and the local submission socket (server/local_submission).
// Trust: none in the peer; callers check its credentials (SO_PEERCRED) per connection.
// Contract: the socket file exists with exactly the mode asked for from bind() on (the
// umask is narrowed around bind, then chmod), and is removed by close() or the destructor.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/local/stream_protocol.hpp>

#include "util/result.hpp"

namespace rampart::net {

class UnixListener {
public:
    using Socket = asio::local::stream_protocol::socket;

    // Binds `path` with file mode `mode` and listens (`backlog`). A file already at `path`
    // is removed first: the caller has made sure no server answers on it (a stale socket).
    // Errors name the socket as `what` ("control socket") and its path, and say to use a
    // shorter server.data_dir when the path does not fit a socket address (107 bytes).
    static Result<std::unique_ptr<UnixListener>> open(asio::any_io_executor ex, std::filesystem::path path, mode_t mode,
                                                      int backlog, std::string_view what);
    ~UnixListener();   // close()
    UnixListener(const UnixListener&) = delete;
    UnixListener& operator=(const UnixListener&) = delete;

    // Accepts until close(), handing each connection to `on_connection` on the executor.
    // Call once. A failed accept (e.g. out of descriptors) is skipped.
    void accept(std::function<void(Socket)> on_connection);
    // Stops accepting and removes the socket file; connections already handed on go on.
    void close();

private:
    UnixListener(asio::any_io_executor ex, std::filesystem::path path);
    asio::awaitable<void> accept_loop(std::function<void(Socket)> on_connection);

    asio::any_io_executor ex_;
    std::filesystem::path path_;
    std::string what_;   // "control socket": logged by the accept back-off
    std::unique_ptr<asio::local::stream_protocol::acceptor> acceptor_;
};

// Whether `path` fits a socket address (sockaddr_un::sun_path, with its NUL).
bool fits_unix_socket_address(const std::filesystem::path& path);

}  // namespace rampart::net
