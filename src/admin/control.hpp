// admin/control.hpp — the control channel of a running server: a Unix-domain socket in
// data_dir (mode 0600; only the server's own user or root may connect, checked again with
// SO_PEERCRED). One request line per connection, one response, then the server closes.
// Response: a status line "ok" or "error", then the body (text or JSON).
// Trust: the peer is the local operator; requests are still bounded (4 KiB, 10 s).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "util/result.hpp"

namespace rampart::admin {

// Answers one request line with a whole response (status line included).
using Handler = std::function<asio::awaitable<std::string>(std::string request)>;

class ControlServer {
public:
    ControlServer(asio::any_io_executor ex, std::filesystem::path socket_path, Handler handler);
    ~ControlServer();   // removes the socket file

    // Binds the socket and starts accepting. Fails if another server answers on it; a
    // stale socket file (nobody listening) is replaced.
    Result<Ok> open();
    // Stops accepting and removes the socket file. Call before the executor's context is
    // destroyed (the destructor calls it too, for early exits).
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The client side (rampart queue ...): sends `request` and returns the response. The
// error names the socket path when no server answers.
Result<std::string> control_request(const std::filesystem::path& socket_path, const std::string& request);

std::filesystem::path control_socket_path(const std::filesystem::path& data_dir);

// Connects a blocking client socket to the Unix socket at `path` (close-on-exec); -1 with
// errno set on failure (ENAMETOOLONG for a path too long for a socket address).
int connect_unix_socket(const std::filesystem::path& path);

}  // namespace rampart::admin
