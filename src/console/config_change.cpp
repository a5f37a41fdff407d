// console/config_change.cpp — a listener change as a transaction on the file (see the header).
#include "console/config_change.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config/load.hpp"
#include "config/roles.hpp"
#include "util/file_io.hpp"

namespace rampart::console {
namespace {

std::string value_of(const config::Config& c, const config::Listener& l, const std::string& setting) {
    for (const config::SettingValue& v : config::listener_values(c, l))
        if (v.setting == setting) return v.value;
    return "";
}

const config::Listener* listener_named(const config::Config& c, std::string_view name) {
    for (const config::Listener& l : c.listeners)
        if (l.name == name) return &l;
    return nullptr;
}

bool same_finding(const config::Finding& a, const config::Finding& b) {
    return a.listener == b.listener && a.connector == b.connector && a.section == b.section && a.setting == b.setting &&
           a.value == b.value && a.severity == b.severity;
}

}  // namespace

std::string text_hash(std::string_view text) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

Result<Ok> replace_file(const std::filesystem::path& path, std::string_view text) {
    std::error_code ec;
    std::filesystem::path target = std::filesystem::canonical(path, ec);
    if (ec) return Error{ec.value(), path.string() + ": " + ec.message()};
    struct stat st {};
    if (::stat(target.c_str(), &st) != 0) return errno_error(errno, "stat " + target.string());
    std::string tmp = (target.parent_path() / ("." + target.filename().string() + ".console-XXXXXX")).string();
    int fd = ::mkstemp(tmp.data());
    if (fd < 0) return errno_error(errno, "create a temporary file beside " + target.string());
    Result<Ok> r = Ok{};
    if (::fchmod(fd, st.st_mode & 07777) != 0) r = errno_error(errno, "chmod " + tmp);
    // Keep the owner; a server that is not root can only give its own files away to
    // itself, so a file owned by someone else is refused rather than taken over.
    if (r && (st.st_uid != ::geteuid() || st.st_gid != ::getegid()) && ::fchown(fd, st.st_uid, st.st_gid) != 0)
        r = errno_error(errno, "keep the owner of " + target.string() + " (chown " + tmp + ")");
    if (r) r = util::write_all(fd, text);
    if (r && ::fsync(fd) != 0) r = errno_error(errno, "fsync " + tmp);
    ::close(fd);
    if (r && ::rename(tmp.c_str(), target.c_str()) != 0) r = errno_error(errno, "rename " + tmp + " to " + target.string());
    if (!r) {
        ::unlink(tmp.c_str());
        return r;
    }
    return util::fsync_dir(target.parent_path());
}

ChangeOutcome change_listener(const Services& services, const Viewer& viewer, const ConfigChange& change) {
    ChangeOutcome out;
    if (services.config_path.empty()) {
        out.message = "the console is read-only: rampart was started with the embedded default configuration; "
                      "start it with -c FILE (e.g. rampart serve -c /etc/rampart/rampart.toml) to change settings here";
        return out;
    }
    const std::string path = services.config_path.string();
    auto text = util::read_file(services.config_path);
    if (!text) {
        out.message = text.error().message;
        return out;
    }
    if (text_hash(*text) != change.form_hash) {
        out.status = ChangeOutcome::Stale;
        out.message = "the configuration file changed meanwhile; reload the page and make the change again";
        return out;
    }
    const std::string base = std::filesystem::absolute(services.config_path).parent_path().string();
    config::LoadResult old_loaded = config::load_text(*text, path, base);
    std::shared_ptr<const config::Config> running = services.config ? services.config() : nullptr;
    const config::Config* before = std::get_if<config::Config>(&old_loaded);
    if (!before) before = running.get();
    if (!before) {
        out.message = "no configuration to compare with";
        return out;
    }
    std::vector<std::string> defaults;
    for (const config::Listener& l : config::default_listeners(before->server.role)) defaults.push_back(l.name);
    auto edited = config::edit_listener(*text, change.listener, change.edits, defaults);
    if (!edited) {
        out.message = edited.error().message;
        return out;
    }
    if (*edited == *text) {
        out.status = ChangeOutcome::Unchanged;
        return out;
    }
    config::LoadResult loaded = config::load_text(*edited, path, base);
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded)) {
        for (const config::ConfigError& e : *errors) out.message += (out.message.empty() ? "" : "\n") + e.text();
        return out;
    }
    const config::Config& after = std::get<config::Config>(loaded);
    const config::Listener* lb = listener_named(*before, change.listener);
    const config::Listener* la = listener_named(after, change.listener);
    for (const config::ListenerEdit& ed : change.edits) {
        std::string setting = ed.table.empty() ? ed.key : ed.table + "." + ed.key;
        std::string b = lb ? value_of(*before, *lb, setting) : "";
        std::string a = la ? value_of(after, *la, setting) : ed.value;
        if (a.empty()) a = ed.value;
        out.changed.push_back({setting, b, a});
    }
    std::vector<config::Finding> old_findings = config::analyse(*before);
    for (const config::Finding& f : config::analyse(after)) {
        bool known = false;
        for (const config::Finding& o : old_findings) known = known || same_finding(o, f);
        if (!known) out.new_findings.push_back(f);
    }
    if (auto w = replace_file(services.config_path, *edited); !w) {
        out.message = "nothing was changed: " + w.error().message;
        return out;
    }
    for (const ChangeOutcome::Setting& s : out.changed)
        audit_change(viewer, "listener " + change.listener + ": " + s.setting, s.before + " -> " + s.after);
    if (!services.reload_config) {
        out.status = ChangeOutcome::NotApplied;
        out.message = "the file was written; this server cannot reload from the console: send SIGHUP (systemctl reload rampart)";
        return out;
    }
    if (auto r = services.reload_config(); !r) {
        out.status = ChangeOutcome::NotApplied;
        out.message = "the file was written but the reload failed (the running configuration is kept): " + r.error().message;
        return out;
    }
    out.status = ChangeOutcome::Applied;
    return out;
}

}  // namespace rampart::console
