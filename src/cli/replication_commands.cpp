// cli/replication_commands.cpp — `rampart hub sync --now` (asks the running hub over its
// control socket) and `rampart edge status [--json]`, `rampart edge test-recipient ADDR`
// (read the edge's replica in data_dir directly; no server needed).
#include "cli/commands.hpp"

#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "admin/control.hpp"
#include "replication/replica.hpp"
#include "replication/transport.hpp"

namespace rampart::cli {

int hub_sync_command(const std::string& path) {
    auto cfg = load(path);
    if (!cfg) return kConfigError;
    if (cfg->server.role != config::Role::Hub) {
        std::cerr << cfg->source << ": server.role is not \"hub\"\n";
        return kConfigError;
    }
    return print_control_response(admin::control_request(admin::control_socket_path(cfg->resolve(cfg->server.data_dir)), "hub-sync"));
}

int edge_status_command(const std::string& path, bool json) {
    auto cfg = load(path);
    if (!cfg) return kConfigError;
    std::filesystem::path data = cfg->resolve(cfg->server.data_dir);
    auto replica = replication::load_replica(replication::replica_dir(data));
    auto status = replication::read_edge_status(data);
    if (!replica || !status) {
        std::cerr << (replica ? status.error().message : replica.error().message) << "\n";
        return 1;
    }
    std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::error_code ec;
    bool pinned = std::filesystem::exists(data / "edge" / "hub.pem", ec);
    nlohmann::json out;
    out["hub"] = status->hub_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(status->hub_name);
    out["subscribed"] = pinned;
    out["last_contact"] = status->last_contact ? nlohmann::json(replication::rfc3339(status->last_contact)) : nlohmann::json(nullptr);
    for (replication::Kind k : {replication::Kind::Config, replication::Kind::Recipients}) {
        const replication::KindState& s = replica->of(k);
        std::int64_t t = status->last_sync[k == replication::Kind::Config ? 0 : 1];
        nlohmann::json j;
        j["serial"] = s.serial;
        j["entries"] = s.entries.size();
        j["last_sync"] = t ? nlohmann::json(replication::rfc3339(t)) : nlohmann::json(nullptr);
        j["age_seconds"] = t ? nlohmann::json(now - t) : nlohmann::json(nullptr);
        out[std::string(replication::kind_name(k))] = j;
    }
    out["last_error"] = status->last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(status->last_error);
    out["last_error_time"] = status->last_error_time ? nlohmann::json(replication::rfc3339(status->last_error_time)) : nlohmann::json(nullptr);
    if (json) {
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::cout << "hub: " << (status->hub_name.empty() ? "(not subscribed)" : status->hub_name) << "\n";
    std::cout << "last contact: " << (status->last_contact ? replication::rfc3339(status->last_contact) : "never") << "\n";
    for (const char* k : {"config", "recipients"}) {
        const nlohmann::json& j = out[k];
        std::cout << k << ": serial " << j["serial"].get<std::uint64_t>() << ", " << j["entries"].get<std::size_t>() << " entries, ";
        if (j["last_sync"].is_null()) std::cout << "never synchronised\n";
        else std::cout << "last sync " << j["last_sync"].get<std::string>() << " (" << j["age_seconds"].get<std::int64_t>() << " s ago)\n";
    }
    if (!status->last_error.empty()) std::cout << "last error: " << status->last_error << " at " << replication::rfc3339(status->last_error_time) << "\n";
    return 0;
}

int edge_test_recipient_command(const std::string& path, const std::string& address) {
    auto cfg = load(path);
    if (!cfg) return kConfigError;
    auto replica = replication::load_replica(replication::replica_dir(cfg->resolve(cfg->server.data_dir)));
    if (!replica) {
        std::cerr << replica.error().message << "\n";
        return 2;
    }
    if (!replica->has_recipients()) {
        std::cerr << "no replicated recipients yet (rampart edge status)\n";
        return 2;
    }
    if (replica->knows(address)) {
        std::cout << address << ": known (recipients serial " << replica->recipients.serial << ")\n";
        return 0;
    }
    std::cout << address << ": unknown (recipients serial " << replica->recipients.serial << ")\n";
    return 1;
}

}  // namespace rampart::cli
