// cli/admin_listener.hpp — wires the admin listener ([admin]) for `rampart serve`: TLS
// context and token from the configuration, the /metrics route (behind the token) and the
// web console (its own sign-in; on whenever the listener is) on the scheduler's executor.
#pragma once

#include <memory>

#include <asio/any_io_executor.hpp>

#include "admin/http_server.hpp"
#include "config/config.hpp"
#include "console/console.hpp"

namespace rampart::queue {
class Scheduler;
}

namespace rampart::cli {

struct AdminListener {
    std::unique_ptr<console::Console> console;   // its routes live in `server` (declared after: destroyed first)
    std::unique_ptr<admin::HttpServer> server;   // null: off ([admin] bind = "") or not bound
    bool failed = false;                         // a file of [admin] could not be read: do not start
};

// `ex` must be the scheduler's executor. An unreadable or empty token file, certificate or
// key is printed (naming the setting and file) and fails; an address already in use is
// logged (admin.unavailable) and the server runs without the listener: metrics are not
// worth refusing mail for. `console`: what the console's pages read and act on (serve.cpp).
AdminListener open_admin_listener(const config::Config& cfg, asio::any_io_executor ex, const queue::Scheduler& scheduler,
                                  console::Services console);

}  // namespace rampart::cli
