// cli/common.cpp — loading the configuration and the directory for every subcommand.
#include "cli/commands.hpp"

#include <iostream>

#include "config/load.hpp"
#include "directory/ldap_directory.hpp"
#include "util/log.hpp"

namespace rampart::cli {

// Loads -c FILE or the embedded default; prints every error and returns nullopt.
std::optional<config::Config> load(const std::string& path) {
    config::LoadResult r = path.empty()
                               ? config::load_text(config::default_config_text(), "<embedded default>",
                                                   std::filesystem::current_path().string())
                               : config::load_file(path);
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&r)) {
        for (const auto& e : *errors) std::cerr << e.text() << "\n";
        std::cerr << errors->size() << (errors->size() == 1 ? " error" : " errors") << " in the configuration\n";
        return std::nullopt;
    }
    return std::get<config::Config>(std::move(r));
}

// Reads the directory file; prints every problem (to the log for a running server's
// reload, where standard error may go nowhere) and returns nullopt on errors.
std::optional<directory::Directory> read_directory(const std::filesystem::path& path, bool to_log) {
    auto loaded = directory::Directory::load(path);
    if (auto* errors = std::get_if<std::vector<std::string>>(&loaded)) {
        for (const auto& e : *errors) {
            if (to_log) log::error("directory.error", {{"problem", e}});
            else std::cerr << e << "\n";
        }
        return std::nullopt;
    }
    return std::get<directory::Directory>(std::move(loaded));
}

std::optional<OpenedDirectory> open_directory(const config::Config& cfg, bool serving) {
    OpenedDirectory out;
    if (cfg.directory.backend != "ldap") {
        std::filesystem::path path = cfg.resolve(cfg.directory.file);
        auto d = read_directory(path);
        if (!d) return std::nullopt;
        if (serving) log::info("directory.loaded", {{"file", path.string()}, {"users", d->users.size()}, {"groups", d->groups.size()}});
        out.snapshot = std::move(*d);
        return out;
    }
    out.ldap = std::make_unique<directory::LdapDirectory>(cfg);
    auto snap = out.ldap->load();
    if (!snap) {
        std::cerr << "directory: cannot read users and groups from LDAP: " << snap.error().message << "\n";
        return std::nullopt;
    }
    if (serving) directory::log_loaded(*out.ldap, *snap);
    else
        for (const std::string& w : snap->warnings) std::cerr << "directory (LDAP): " << w << "\n";
    out.snapshot = std::move(snap->directory);
    return out;
}

std::optional<directory::Directory> read_configured_directory(const config::Config& cfg) {
    auto opened = open_directory(cfg, false);
    if (!opened) return std::nullopt;
    return std::move(opened->snapshot);
}

int print_control_response(const Result<std::string>& response) {
    if (!response) {
        std::cerr << response.error().message << "\n";
        return 1;
    }
    std::size_t nl = response->find('\n');
    std::string status = response->substr(0, nl);
    std::string body = nl == std::string::npos ? std::string() : response->substr(nl + 1);
    (status == "ok" ? std::cout : std::cerr) << body;
    return status == "ok" ? 0 : 1;
}

}  // namespace rampart::cli
