// cli/console_ops.hpp — fills the web console's operations services (console/ops_pages.hpp)
// from `serve`'s running objects: the scheduler and spool, the live directory, the tracking
// store's file, and explain run in-process (run_explain, with the live state answered by
// live_state_answer as the control socket answers it). Everything it is given must outlive
// the admin listener; the pages run on the scheduler's executor.
#pragma once

#include <filesystem>

#include "console/console.hpp"

namespace rampart::server {
class Server;
}
namespace rampart::policy {
class Brakes;
}
namespace rampart::session {
class BackPressure;
}
namespace rampart::directory {
class Live;
}

namespace rampart::cli {

struct OpsServices {
    queue::Scheduler* scheduler = nullptr;
    const queue::Spool* spool = nullptr;
    const directory::Live* directory = nullptr;
    std::filesystem::path tracking_file;   // "" when tracking is off
    server::Server* server = nullptr;
    policy::Brakes* brakes = nullptr;
    const session::BackPressure* back_pressure = nullptr;
};

// Sets the operations fields of `s`; `s.config` must already be set (explain reads the
// running generation through it).
void fill_ops_services(console::Services& s, const OpsServices& ops);

}  // namespace rampart::cli
