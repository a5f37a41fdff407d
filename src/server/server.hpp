// server/server.hpp — listeners and worker threads. Binds every listener's addresses, accepts
// connections, applies the connection limits, and runs one session coroutine per
// connection on one of N single-threaded I/O contexts (no locks in sessions).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "policy/access.hpp"
#include "session/server_session.hpp"
#include "util/result.hpp"

namespace asio {
class io_context;
}

namespace rampart::server {

class Server {
public:
    // `services` must outlive the server; it is read by every session.
    Server(const config::Config& cfg, session::SessionServices& services, std::size_t threads);
    ~Server();

    // Binds all listeners; every failure is reported (listener name, address, errno).
    Result<Ok> bind();
    // Serves until SIGINT/SIGTERM (systemd is told STOPPING=1) or stop(); SIGHUP calls
    // `on_reload` (on context 0); SIGUSR1 reopens the log file (log::reopen_file).
    // Context 0 also runs the delivery side.
    void run(std::function<void()> on_reload = {});
    void stop();
    // At most this many sessions at once across all listeners (server/fd_limits.hpp: sized
    // against the open-file limit); beyond it, acceptors wait. Default: no limit.
    void limit_sessions(std::uint32_t sessions);
    // Destroys the I/O contexts and every coroutine still suspended on them. Call after
    // run() returns and before destroying objects those coroutines refer to.
    void shutdown();
    asio::io_context& main_context();
    // Connections open now on `listener` (by name), in all and from `client` (for
    // `rampart explain` through the control socket).
    policy::ConnectionCounts connection_counts(const std::string& listener, const std::string& client);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::server
