// server/privileges.hpp — the privilege drop of `rampart serve` (issue 12): started as root,
// the server binds its ports and opens its files, then becomes `[server] user` for good.
// Trust: the configuration (user name, run_as_root) and the password database.
// Contract: after drop() returned success, the real, effective and saved uid and gid are
// the user's, the supplementary groups are the user's (initgroups), and setuid(0) fails;
// data_dir and everything in it belong to the user (chowned, symlinks not followed).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "util/result.hpp"

namespace rampart::server {

struct RunAs {
    std::string user;
    uid_t uid = 0;
    gid_t gid = 0;
};

// Decides before anything is opened: nullopt when there is nothing to drop (not started
// as root, or run_as_root = true); an error naming server.user when the user does not
// exist or is root itself.
Result<std::optional<RunAs>> plan_run_as(const config::ServerSettings& server);

// Gives `data_dir` (recursively) and `extra_files` (the log file) to the user, then drops
// to it irrevocably.
Result<Ok> drop_privileges(const RunAs& who, const std::filesystem::path& data_dir,
                           const std::vector<std::filesystem::path>& extra_files = {});

// Called once everything privileged is open: with `who`, drop_privileges(data_dir, the log
// file) and log server.privileges (and directory.unreadable when SIGHUP could not re-read
// `directory_file`); without, warn if still root. The error is for standard error.
Result<Ok> become_server_user(const std::optional<RunAs>& who, const config::Config& cfg, const std::filesystem::path& data_dir,
                              const std::filesystem::path& directory_file);

}  // namespace rampart::server
