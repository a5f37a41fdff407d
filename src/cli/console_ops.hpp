// cli/console_ops.hpp — fills the web console's operations services (console/ops_pages.hpp)
// from `serve`'s running objects: the spool, the tracking store's file, and explain run
// in-process (run_explain on the running configuration and the live directory, with the
// live state answered by live_state_answer as the control socket answers it). Everything it is given must outlive
// the admin listener; the pages run on the scheduler's executor.
#pragma once

#include <filesystem>

#include "console/console.hpp"

namespace rampart::server {
class Server;
}
namespace rampart::session {
class BackPressure;
}

namespace rampart::cli {

struct OpsServices {
    const queue::Spool* spool = nullptr;
    std::filesystem::path tracking_file;   // "" when tracking is off
    server::Server* server = nullptr;
    const session::BackPressure* back_pressure = nullptr;
};

// Sets the operations fields of `s`; `s.config`, `s.directory` and `s.brakes` must already
// be set (explain reads the running generation, the live directory and the AUTH brakes).
void fill_ops_services(console::Services& s, const OpsServices& ops);

}  // namespace rampart::cli
