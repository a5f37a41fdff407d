// cli/block_client.cpp — `rampart block add|del|list`: the dynamic IP block list of the
// running server, changed over its control socket (applied at once, no restart). With no
// server running, the file in data_dir is changed directly (read at the next start).
#include "cli/commands.hpp"

#include <cerrno>
#include <iostream>

#include "admin/block_commands.hpp"
#include "admin/control.hpp"
#include "config/units.hpp"
#include "filter/block_list.hpp"
#include "net/cidr.hpp"

namespace rampart::cli {

int block_command(const std::string& path, const BlockArgs& a) {
    auto cfg = load(path);
    if (!cfg) return kConfigError;
    std::string request = "block " + a.action;
    if (a.action != "list") {
        auto prefix = net::Cidr::parse(a.prefix);
        if (!prefix) {
            std::cerr << a.action << ": \"" << a.prefix << "\" is not an address or prefix (e.g. 198.51.100.7 or 198.51.100.0/24)\n";
            return kConfigError;
        }
        request += " " + prefix->text();
    }
    if (a.action == "add") {
        long long secs = 0;
        if (!a.expires.empty()) {
            auto d = config::parse_duration(a.expires);
            if (!d || d->count() <= 0) {
                std::cerr << "--expires: \"" << a.expires << "\" is not a duration (\"30m\", \"24h\", \"7d\")\n";
                return kConfigError;
            }
            secs = std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(*d).count());
        }
        std::string reason = a.reason;
        for (char& c : reason)
            if (static_cast<unsigned char>(c) < 0x20) c = ' ';
        request += " " + std::to_string(secs) + (reason.empty() ? "" : " " + reason);
    } else if (!a.expires.empty() || !a.reason.empty()) {
        std::cerr << "--expires and --reason apply to add only\n";
        return kConfigError;
    }
    if (a.action == "list" && a.json) request += " --json";
    std::filesystem::path data = cfg->resolve(cfg->server.data_dir);
    auto response = admin::control_request(admin::control_socket_path(data), request);
    if (!response && (response.error().code == ENOENT || response.error().code == ECONNREFUSED)) {
        // No server: the same request against the file (the server reads it when it starts).
        filter::BlockList list(data / filter::kBlockListFile);
        if (auto r = list.load(); !r) {
            std::cerr << r.error().message << "\n";
            return 1;
        }
        response = a.action == "list" ? admin::block_list_text(list, a.json) : admin::block_command(list, request);
        if (a.action != "list" && !a.json) std::cerr << "no rampart server is running; changed " << list.file().string() << " (read at the next start)\n";
    }
    return print_control_response(response);
}

}  // namespace rampart::cli
