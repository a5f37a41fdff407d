// directory/directory.cpp — the directory file (TOML) and group resolution.
#include "directory/directory.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "config/toml_nesting.hpp"
#include "directory/safe_senders.hpp"
#include "net/certificate.hpp"
#include "util/file_io.hpp"

namespace rampart::directory {
namespace {

std::vector<std::string> strings(const toml::node* n, const std::string& where, std::vector<std::string>& errors) {
    std::vector<std::string> out;
    if (!n) return out;
    const toml::array* arr = n->as_array();
    if (!arr) {
        errors.push_back(where + ": expected a list of strings");
        return out;
    }
    for (const auto& item : *arr) {
        if (auto s = item.value<std::string>(); s && item.is_string()) out.push_back(*s);
        else errors.push_back(where + ": expected a list of strings");
    }
    return out;
}

// A TOML basic string. Control characters (a name given on the command line may hold a
// TAB or a newline) are escaped too: TOML refuses them raw, and the saved file must load.
std::string quote(const std::string& s) {
    static const char kHex[] = "0123456789ABCDEF";
    std::string out = "\"";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7F) {
            out += "\\u00";
            out += kHex[u >> 4];
            out += kHex[u & 15];
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string list(const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + quote(v[i]);
    return out + "]";
}

// Full principal names: NAME@REALM, both parts non-empty.
std::vector<std::string> kerberos_principals(const toml::node* n, const std::string& where, std::vector<std::string>& errors) {
    std::vector<std::string> out = strings(n, where, errors);
    for (const std::string& k : out) {
        std::size_t at = k.rfind('@');
        if (at == std::string::npos || at == 0 || at + 1 == k.size())
            errors.push_back(where + ": \"" + k + "\" is not a full Kerberos principal (write NAME@REALM, e.g. \"alice@EXAMPLE.TEST\")");
    }
    return out;
}

void load_alias(const toml::table& t, const std::string& where, Directory& d, std::vector<std::string>& errors) {
    Alias a;
    a.address = t.get("address") ? t.get("address")->value_or(std::string()) : std::string();
    a.targets = strings(t.get("targets"), where + " " + a.address + ": targets", errors);
    if (a.address.find('@') == std::string::npos || a.address.front() == '@' || a.address.back() == '@')
        errors.push_back(where + ": address \"" + a.address + "\" must be local@domain");
    if (a.targets.empty()) errors.push_back(where + " " + a.address + ": targets must list at least one \"user:NAME\" or address");
    for (const auto& [k, v] : t)
        if (k != "address" && k != "targets") errors.push_back(where + " " + a.address + ": unknown key " + std::string(k.str()));
    d.aliases.push_back(std::move(a));
}

// After loading everything: "user:NAME" targets must name a user with an address, and an
// alias address must not also be a user's address (which one would get the mail?).
void check_alias_targets(const Directory& d, const std::string& file, std::vector<std::string>& errors) {
    auto same = [](const std::string& a, const std::string& b) { return strcasecmp(a.c_str(), b.c_str()) == 0; };
    for (const Alias& a : d.aliases) {
        for (const std::string& t : a.targets) {
            if (t.rfind("user:", 0) == 0) {
                const User* u = d.user(t.substr(5));
                if (!u) errors.push_back(file + ": alias " + a.address + ": target " + t + ": no such user");
                else if (u->addresses.empty())
                    errors.push_back(file + ": alias " + a.address + ": target " + t + ": the user has no address (add one with `rampart user add NAME --address A`)");
            } else if (t.find('@') == std::string::npos) {
                errors.push_back(file + ": alias " + a.address + ": target \"" + t + "\" must be \"user:NAME\" or local@domain");
            }
        }
        for (const User& u : d.users)
            for (const std::string& ua : u.addresses)
                if (same(ua, a.address))
                    errors.push_back(file + ": alias " + a.address + " is also an address of user " + u.name + ": remove one of them");
    }
}

}  // namespace

std::variant<Directory, std::vector<std::string>> Directory::load(const std::filesystem::path& path) {
    if (!std::filesystem::exists(path)) return Directory{};
    auto text = util::read_file(path);
    if (!text) return std::vector<std::string>{path.string() + ": cannot read: " + text.error().message};
    return parse(*text, path);
}

std::variant<Directory, std::vector<std::string>> Directory::parse(std::string_view text, const std::filesystem::path& path) {
    Directory d;
    std::vector<std::string> errors;
    // Bounded before toml++ sees it: a deep file would crash the parser, and with it a
    // server reloading on SIGHUP.
    if (auto deep = config::find_excessive_nesting(text))
        return std::vector<std::string>{path.string() + ":" + std::to_string(deep->line) + ": " + config::too_deep_problem(*deep) +
                                        " (" + std::string(config::too_deep_fix()) + ")"};
    toml::table root;
    try {
        root = toml::parse(text, path.string());
    } catch (const toml::parse_error& e) {
        return std::vector<std::string>{path.string() + ":" + std::to_string(e.source().begin.line) + ": " +
                                        std::string(e.description())};
    }
    auto where = [&](const toml::node& n, const std::string& what) {
        return path.string() + ":" + std::to_string(n.source().begin.line) + ": " + what;
    };
    for (const auto& [k, v] : root) {
        std::string key(k.str());
        const toml::array* arr = v.as_array();
        if (!arr || (key != "users" && key != "groups" && key != "servers" && key != "aliases")) {
            errors.push_back(where(v, key + ": unknown section (known: [[users]], [[groups]], [[servers]], [[aliases]])"));
            continue;
        }
        for (const auto& item : *arr) {
            const toml::table* t = item.as_table();
            if (!t) {
                errors.push_back(where(item, key + ": expected tables"));
                continue;
            }
            if (key == "aliases") {
                load_alias(*t, where(item, "alias"), d, errors);
                continue;
            }
            std::string name = t->get("name") ? t->get("name")->value_or(std::string()) : std::string();
            if (name.empty()) errors.push_back(where(item, key + ": entry without a name"));
            if (key == "users") {
                User u;
                u.name = name;
                u.addresses = strings(t->get("addresses"), where(item, "addresses"), errors);
                u.groups = strings(t->get("groups"), where(item, "groups"), errors);
                u.password = t->get("password") ? t->get("password")->value_or(std::string()) : std::string();
                u.send_as_any = t->get("send_as_any") ? t->get("send_as_any")->value_or(false) : false;
                u.kerberos = kerberos_principals(t->get("kerberos"), where(item, "user " + name + ": kerberos"), errors);
                std::vector<std::string> safe = strings(t->get("safe_senders"), where(item, "safe_senders"), errors);
                for (const std::string& e : safe)
                    if (std::string why = safe_sender_problem(e); !why.empty())
                        errors.push_back(where(item, "user " + name + ": safe_senders: " + why));
                if (!safe.empty()) d.safe_senders[name] = std::move(safe);
                if (!u.password.empty() && u.password.rfind("$argon2id$", 0) != 0 && u.password.rfind("$y$", 0) != 0)
                    errors.push_back(where(item, "user " + name + ": password must be an argon2id or yescrypt hash (set it with `rampart user passwd`)"));
                for (const auto& [uk, uv] : *t)
                    if (uk != "name" && uk != "addresses" && uk != "groups" && uk != "password" && uk != "send_as_any" && uk != "kerberos" &&
                        uk != "safe_senders")
                        errors.push_back(where(uv, "user " + name + ": unknown key " + std::string(uk.str())));
                d.users.push_back(std::move(u));
            } else if (key == "groups") {
                Group g;
                g.name = name;
                g.members = strings(t->get("members"), where(item, "members"), errors);
                for (const std::string& m : g.members)
                    if (m.rfind("user:", 0) != 0 && m.rfind("group:", 0) != 0)
                        errors.push_back(where(item, "group " + name + ": member \"" + m + "\" must be \"user:NAME\" or \"group:NAME\""));
                d.groups.push_back(std::move(g));
            } else {
                Server s;
                s.name = name;
                s.addresses = strings(t->get("addresses"), where(item, "addresses"), errors);
                std::string fp = t->get("fingerprint") ? t->get("fingerprint")->value_or(std::string()) : std::string();
                s.fingerprint = net::normalise_fingerprint(fp);
                s.kerberos = kerberos_principals(t->get("kerberos"), where(item, "server " + name + ": kerberos"), errors);
                // A server proves itself by certificate (EXTERNAL) or Kerberos (GSSAPI), or both.
                if (s.fingerprint.empty() && (!fp.empty() || s.kerberos.empty()))
                    errors.push_back(where(item, "server " + name + ": fingerprint must be the certificate's SHA-256 (64 hex digits; set it with `rampart server add NAME --certificate FILE`), or give the server's Kerberos principals in kerberos"));
                d.servers.push_back(std::move(s));
            }
        }
    }
    // A Kerberos principal names one user or server, never two.
    std::set<std::string> seen;
    for (const User& u : d.users)
        for (const std::string& k : u.kerberos)
            if (!seen.insert(k).second) errors.push_back(path.string() + ": kerberos principal " + k + " is listed twice");
    for (const Server& s : d.servers)
        for (const std::string& k : s.kerberos)
            if (!seen.insert(k).second) errors.push_back(path.string() + ": kerberos principal " + k + " is listed twice");
    check_alias_targets(d, path.string(), errors);
    if (!errors.empty()) return errors;
    return d;
}

std::string Directory::to_toml() const {
    std::string out = "# rampart directory: managed with `rampart user|group|alias|server ...`; passwords are hashes only.\n";
    for (const User& u : users) {
        out += "\n[[users]]\nname = " + quote(u.name) + "\naddresses = " + list(u.addresses) + "\ngroups = " + list(u.groups) + "\n";
        if (!u.password.empty()) out += "password = " + quote(u.password) + "\n";
        if (u.send_as_any) out += "send_as_any = true\n";
        if (!u.kerberos.empty()) out += "kerberos = " + list(u.kerberos) + "\n";
        if (auto safe = safe_senders.find(u.name); safe != safe_senders.end() && !safe->second.empty())
            out += "safe_senders = " + list(safe->second) + "\n";
    }
    for (const Group& g : groups) out += "\n[[groups]]\nname = " + quote(g.name) + "\nmembers = " + list(g.members) + "\n";
    for (const Server& s : servers) {
        out += "\n[[servers]]\nname = " + quote(s.name) + "\naddresses = " + list(s.addresses) + "\nfingerprint = " + quote(s.fingerprint) + "\n";
        if (!s.kerberos.empty()) out += "kerberos = " + list(s.kerberos) + "\n";
    }
    for (const Alias& a : aliases) out += "\n[[aliases]]\naddress = " + quote(a.address) + "\ntargets = " + list(a.targets) + "\n";
    return out;
}

Result<Ok> Directory::save(const std::filesystem::path& path) const {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return errno_error(errno, "create " + tmp.string());
    // The replacement keeps the old file's owner, group and mode: a file given to the
    // server's user (server.user reads it on reload) stays readable by it.
    if (struct stat old{}; ::stat(path.c_str(), &old) == 0) {
        if (::fchown(fd, old.st_uid, old.st_gid) != 0) { /* not the owner: the file becomes ours */ }
        if (::fchmod(fd, old.st_mode & 07777) != 0) { /* keeps 0600 */ }
    }
    Result<Ok> w = util::write_all(fd, to_toml());
    if (w && ::fsync(fd) != 0) w = errno_error(errno, "fsync " + tmp.string());
    ::close(fd);
    if (w && ::rename(tmp.c_str(), path.c_str()) != 0) w = errno_error(errno, "rename " + path.string());
    if (w) w = util::fsync_dir(std::filesystem::absolute(path).parent_path());
    return w;
}

const User* Directory::user(std::string_view name) const {
    for (const User& u : users)
        if (u.name == name) return &u;
    return nullptr;
}

User* Directory::user(std::string_view name) {
    for (User& u : users)
        if (u.name == name) return &u;
    return nullptr;
}

const Group* Directory::group(std::string_view name) const {
    for (const Group& g : groups)
        if (g.name == name) return &g;
    return nullptr;
}

const Server* Directory::server(std::string_view name) const {
    for (const Server& s : servers)
        if (s.name == name) return &s;
    return nullptr;
}

const Server* Directory::server_by_fingerprint(std::string_view fingerprint) const {
    if (fingerprint.empty()) return nullptr;
    for (const Server& s : servers)
        if (s.fingerprint == fingerprint) return &s;
    return nullptr;
}

std::vector<std::string> Directory::groups_of(std::string_view user_name) const {
    std::set<std::string> found;
    std::vector<std::string> todo;
    if (const User* u = user(user_name)) todo = u->groups;
    for (const Group& g : groups)
        if (std::find(g.members.begin(), g.members.end(), "user:" + std::string(user_name)) != g.members.end())
            todo.push_back(g.name);
    // Nested groups: a group that lists "group:X" as member makes X's members its members.
    while (!todo.empty()) {
        std::string g = todo.back();
        todo.pop_back();
        if (!found.insert(g).second) continue;
        for (const Group& parent : groups)
            if (std::find(parent.members.begin(), parent.members.end(), "group:" + g) != parent.members.end())
                todo.push_back(parent.name);
    }
    return {found.begin(), found.end()};
}

}  // namespace rampart::directory
