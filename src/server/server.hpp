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

// One configuration generation: the configuration and the services built from it. Every
// session holds the generation it was accepted on until it ends, so a reload never changes
// the rules under a session in progress; new sessions take the newest generation.
struct Generation {
    std::shared_ptr<const config::Config> config;
    std::shared_ptr<const void> owned;    // what `services` points to besides config (the filter chain)
    session::SessionServices services;    // services.config == config.get()
};

class Server {
public:
    // What the generation's services point to must outlive the server.
    Server(std::shared_ptr<Generation> first, std::size_t threads);
    ~Server();

    // Binds all listeners; every failure is reported (listener name, address, errno).
    Result<Ok> bind();
    // Sessions accepted from now on use `next` (call on the main context, e.g. from
    // on_reload). Addresses of listeners new in `next` are bound, those no longer in it
    // closed, the others keep their sockets (no connection is dropped). An address that
    // cannot be bound is reported; the rest is applied.
    Result<Ok> reconfigure(std::shared_ptr<Generation> next);
    std::shared_ptr<const Generation> generation() const;
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
