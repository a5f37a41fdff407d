// cli/queue_client.cpp — `rampart queue` and `rampart quarantine`: requests to the running server over its control socket.
#include "cli/commands.hpp"

#include <iostream>

#include "admin/control.hpp"

namespace rampart::cli {

int queue_command(const std::string& path, const std::string& prefix, const std::string& action, const std::string& id, bool all,
                  bool json) {
    auto cfg = load(path);
    if (!cfg) return kConfigError;
    bool needs_id = action != "list";
    if (action == "retry" && all == !id.empty()) {
        std::cerr << "retry: give a queue id or --all\n";
        return kConfigError;
    }
    if (action != "retry" && all) {
        std::cerr << "--all applies to retry only\n";
        return kConfigError;
    }
    if (needs_id && action != "retry" && id.empty()) {
        std::cerr << action << ": give a queue id (see rampart queue list)\n";
        return kConfigError;
    }
    std::string request = prefix + action + (all ? " --all" : id.empty() ? "" : " " + id) + (json ? " --json" : "");
    auto response = admin::control_request(admin::control_socket_path(cfg->resolve(cfg->server.data_dir)), request);
    return print_control_response(response);
}

}  // namespace rampart::cli
