// server/privileges.cpp — user look-up, chown of the data directory, setgroups/setgid/setuid.
#include "server/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "util/log.hpp"

namespace rampart::server {

Result<std::optional<RunAs>> plan_run_as(const config::ServerSettings& server) {
    if (::geteuid() != 0 || server.run_as_root) return std::optional<RunAs>{};
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    int rc = ::getpwnam_r(server.user.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc != 0 || !found)
        return Error{rc ? rc : ENOENT, "server.user: no Unix user \"" + server.user +
                                           "\" to run as after start-up (create it: useradd --system --no-create-home " + server.user +
                                           "; or set server.run_as_root = true to stay root)"};
    if (found->pw_uid == 0)
        return Error{EINVAL, "server.user: \"" + server.user + "\" is root (uid 0); name an unprivileged user, or set server.run_as_root = true"};
    return std::optional<RunAs>{RunAs{server.user, found->pw_uid, found->pw_gid}};
}

namespace {

Result<Ok> give(const std::filesystem::path& p, const RunAs& who) {
    if (::lchown(p.c_str(), who.uid, who.gid) != 0 && errno != ENOENT) return errno_error(errno, "chown " + p.string());
    return Ok{};
}

}  // namespace

Result<Ok> drop_privileges(const RunAs& who, const std::filesystem::path& data_dir, const std::vector<std::filesystem::path>& extra_files) {
    if (auto r = give(data_dir, who); !r) return r;
    std::error_code ec;
    // Bounded by what is in data_dir; symlinks are chowned themselves, never followed.
    for (auto it = std::filesystem::recursive_directory_iterator(data_dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec))
        if (auto r = give(it->path(), who); !r) return r;
    if (ec) return Error{ec.value(), "walk " + data_dir.string() + ": " + ec.message()};
    for (const auto& f : extra_files)
        if (auto r = give(f, who); !r) return r;
    if (::initgroups(who.user.c_str(), who.gid) != 0) return errno_error(errno, "initgroups " + who.user);
    if (::setresgid(who.gid, who.gid, who.gid) != 0) return errno_error(errno, "setresgid " + std::to_string(who.gid));
    if (::setresuid(who.uid, who.uid, who.uid) != 0) return errno_error(errno, "setresuid " + std::to_string(who.uid));
    if (::setuid(0) == 0) return Error{EPERM, "setuid(0) still succeeds after dropping to " + who.user};
    return Ok{};
}

Result<Ok> become_server_user(const std::optional<RunAs>& who, const config::Config& cfg, const std::filesystem::path& data_dir,
                              const std::filesystem::path& directory_file) {
    if (!who) {
        if (::geteuid() == 0) log::warn("server.privileges", {{"user", "root"}, {"reason", "server.run_as_root = true"}});
        return Ok{};
    }
    std::vector<std::filesystem::path> own;
    if (!cfg.server.log_file.empty()) own.push_back(cfg.resolve(cfg.server.log_file));
    if (auto r = drop_privileges(*who, data_dir, own); !r)
        return Error{r.error().code, "server.user: cannot run as " + who->user + ": " + r.error().message};
    log::info("server.privileges", {{"user", who->user}, {"uid", who->uid}, {"gid", who->gid}});
    if (cfg.directory.backend == "file" && ::access(directory_file.c_str(), R_OK) != 0 && errno != ENOENT)
        log::warn("directory.unreadable", {{"file", directory_file.string()}, {"user", who->user},
                                           {"effect", "reload (SIGHUP) will keep the current directory"},
                                           {"fix", "chown or chgrp the file to server.user"}});
    return Ok{};
}

}  // namespace rampart::server
