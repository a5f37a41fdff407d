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

// The directory of either backend, read once (user/group list, explain).
std::optional<directory::Directory> read_configured_directory(const config::Config& cfg) {
    if (cfg.directory.backend != "ldap") return read_directory(cfg.resolve(cfg.directory.file));
    auto snap = directory::LdapDirectory(cfg).load();
    if (!snap) {
        std::cerr << "directory (LDAP): " << snap.error().message << "\n";
        return std::nullopt;
    }
    for (const std::string& w : snap->warnings) std::cerr << "directory (LDAP): " << w << "\n";
    return std::move(snap->directory);
}

}  // namespace rampart::cli
