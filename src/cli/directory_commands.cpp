// cli/directory_commands.cpp — `rampart user|server|group|alias`: edits of the directory file (LDAP: list only).
#include "cli/commands.hpp"

#include <functional>
#include <iostream>

#include "auth/password.hpp"
#include "directory/mailbox.hpp"
#include "net/certificate.hpp"
#include "net/cidr.hpp"

namespace rampart::cli {
namespace {

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& i : items) out += (out.empty() ? "" : ",") + i;
    return out;
}


std::optional<std::string> read_password() {
    std::string pw;
    if (!std::getline(std::cin, pw) || pw.empty()) return std::nullopt;
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    return pw;
}

// `servers_file`: the command edits organisation servers, which stay in the directory file
// even with the LDAP backend.
int with_directory(const std::string& config_path, bool read_only, const std::function<int(directory::Directory&, bool& changed)>& f,
                   bool servers_file = false) {
    auto cfg = load(config_path);
    if (!cfg) return kConfigError;
    if (cfg->directory.backend == "ldap" && !servers_file) {
        if (!read_only) {
            std::cerr << "directory.backend is \"ldap\": users and groups are managed in LDAP (" << cfg->directory.ldap_uri
                      << "); `rampart user list` and `rampart group list` show them\n";
            return 1;
        }
        auto d = read_configured_directory(*cfg);
        if (!d) return 1;
        bool changed = false;
        return f(*d, changed);
    }
    auto path = cfg->resolve(cfg->directory.file);
    auto read = read_directory(path);
    if (!read) return kConfigError;
    directory::Directory& d = *read;
    bool changed = false;
    int rc = f(d, changed);
    if (rc == 0 && changed) {
        if (auto r = d.save(path); !r) {
            std::cerr << r.error().message << "\n";
            return 1;
        }
    }
    return rc;
}

}  // namespace

int user_command(const std::string& config_path, const std::string& action, const DirArgs& a) {
    return with_directory(config_path, action == "list", [&](directory::Directory& d, bool& changed) {
        if (action == "list") {
            for (const auto& u : d.users) {
                std::cout << u.name << "  addresses=" << join(u.addresses) << "  groups=" << join(d.groups_of(u.name))
                          << (u.send_as_any ? "  send-as-any" : "") << (u.kerberos.empty() ? "" : "  kerberos=" + join(u.kerberos))
                          << (u.dn.empty() ? "" : "  dn=" + u.dn) << (u.password.empty() && u.dn.empty() ? "  (no password)" : "") << "\n";
            }
            return 0;
        }
        directory::User* u = d.user(a.name);
        if (action == "add" && u) {
            std::cerr << "user " << a.name << " already exists\n";
            return 1;
        }
        if (action != "add" && !u) {
            std::cerr << "no user named " << a.name << "\n";
            return 1;
        }
        for (const std::string& k : a.kerberos)
            if (k.rfind('@') == std::string::npos || k.rfind('@') == 0 || k.rfind('@') + 1 == k.size()) {
                std::cerr << "--kerberos " << k << ": write the full principal NAME@REALM\n";
                return 1;
            }
        if (action == "del") {
            d.users.erase(d.users.begin() + (u - d.users.data()));
            for (auto& g : d.groups) std::erase(g.members, "user:" + a.name);
            d.safe_senders.erase(a.name);
            for (auto& al : d.aliases) std::erase(al.targets, "user:" + a.name);
            std::erase_if(d.aliases, [](const directory::Alias& al) { return al.targets.empty(); });
            changed = true;
            return 0;
        }
        auto pw = read_password();
        if (!pw) {
            std::cerr << "give the password on standard input (one line)\n";
            return 1;
        }
        auto hash = auth::hash_password(*pw);
        if (!hash) {
            std::cerr << hash.error().message << "\n";
            return 1;
        }
        if (action == "add") {
            d.users.push_back({a.name, a.addresses, a.groups, *hash, a.send_as_any, a.kerberos, {}});
        } else {  // passwd
            u->password = *hash;
        }
        changed = true;
        return 0;
    });
}

// rampart server add|del|list: organisation servers known by their certificate.
int server_command(const std::string& config_path, const std::string& action, const DirArgs& a, const std::string& cert_file,
                   const std::string& fingerprint) {
    return with_directory(config_path, action == "list", [&](directory::Directory& d, bool& changed) {
        if (action == "list") {
            for (const auto& s : d.servers)
                std::cout << s.name << "  fingerprint=" << (s.fingerprint.empty() ? "-" : s.fingerprint)
                          << "  addresses=" << (s.addresses.empty() ? "any" : join(s.addresses))
                          << (s.kerberos.empty() ? "" : "  kerberos=" + join(s.kerberos)) << "\n";
            return 0;
        }
        auto it = std::find_if(d.servers.begin(), d.servers.end(), [&](const auto& s) { return s.name == a.name; });
        if (action == "del") {
            if (it == d.servers.end()) {
                std::cerr << "no server named " << a.name << "\n";
                return 1;
            }
            d.servers.erase(it);
            changed = true;
            return 0;
        }
        if (it != d.servers.end()) {
            std::cerr << "server " << a.name << " already exists (delete it first to replace its certificate)\n";
            return 1;
        }
        if (!cert_file.empty() && !fingerprint.empty()) {
            std::cerr << "give either --certificate FILE.pem or --fingerprint SHA256 for add, not both\n";
            return 1;
        }
        if (cert_file.empty() && fingerprint.empty() && a.kerberos.empty()) {
            std::cerr << "give --certificate FILE.pem, --fingerprint SHA256 or --kerberos PRINCIPAL for add\n";
            return 1;
        }
        for (const std::string& addr : a.addresses)
            if (!net::Cidr::parse(addr)) {
                std::cerr << "--address " << addr << ": write an IP address or prefix, e.g. 192.0.2.10 or 192.0.2.0/24\n";
                return 1;
            }
        net::PeerCertificate given{net::normalise_fingerprint(fingerprint), "(given by fingerprint)", true};
        if (cert_file.empty() && fingerprint.empty()) given = {"", "(Kerberos only)", true};
        auto cert = cert_file.empty() ? Result<net::PeerCertificate>(given) : net::read_certificate(cert_file);
        if (!cert) {
            std::cerr << "--certificate: " << cert.error().message << "\n";
            return 1;
        }
        if (cert->fingerprint.empty() && !fingerprint.empty()) {
            std::cerr << "--fingerprint: expected the certificate's SHA-256, 64 hex digits (colons allowed)\n";
            return 1;
        }
        if (const directory::Server* other = cert->fingerprint.empty() ? nullptr : d.server_by_fingerprint(cert->fingerprint)) {
            std::cerr << "this certificate already belongs to server " << other->name << "\n";
            return 1;
        }
        if (!cert->valid_now) std::cerr << "warning: the certificate is expired or not yet valid; the server cannot authenticate with it now\n";
        d.servers.push_back({a.name, a.addresses, cert->fingerprint, a.kerberos});
        std::cout << a.name << "  fingerprint=" << cert->fingerprint << "  subject=" << cert->subject << "\n";
        changed = true;
        return 0;
    }, true);
}

int group_command(const std::string& config_path, const std::string& action, const DirArgs& a) {
    return with_directory(config_path, action == "list", [&](directory::Directory& d, bool& changed) {
        if (action == "list") {
            for (const auto& g : d.groups) {
                std::cout << g.name << "  members=" << join(g.members) << "\n";
            }
            return 0;
        }
        for (const std::string& m : a.members)
            if (m.rfind("user:", 0) != 0 && m.rfind("group:", 0) != 0) {
                std::cerr << "--member " << m << ": write user:NAME or group:NAME\n";
                return 1;
            }
        auto it = std::find_if(d.groups.begin(), d.groups.end(), [&](const auto& g) { return g.name == a.name; });
        if (action == "del") {
            if (it == d.groups.end()) {
                std::cerr << "no group named " << a.name << "\n";
                return 1;
            }
            d.groups.erase(it);
            changed = true;
            return 0;
        }
        if (it == d.groups.end()) {  // add creates the group, or adds members to it
            d.groups.push_back({a.name, {}});
            it = d.groups.end() - 1;
        }
        for (const std::string& m : a.members)
            if (std::find(it->members.begin(), it->members.end(), m) == it->members.end()) it->members.push_back(m);
        changed = true;
        return 0;
    });
}

// rampart alias add ADDRESS --target T... | del ADDRESS [--target T...] | list
int alias_command(const std::string& config_path, const std::string& action, const DirArgs& a) {
    return with_directory(config_path, action == "list", [&](directory::Directory& d, bool& changed) {
        if (action == "list") {
            for (const auto& al : d.aliases) std::cout << al.address << "  targets=" << join(al.targets) << "\n";
            return 0;
        }
        auto same = [](const std::string& x, const std::string& y) { return directory::fold(x) == directory::fold(y); };
        auto it = std::find_if(d.aliases.begin(), d.aliases.end(), [&](const auto& al) { return same(al.address, a.name); });
        if (action == "del") {
            if (it == d.aliases.end()) {
                std::cerr << "no alias " << a.name << "\n";
                return 1;
            }
            for (const std::string& t : a.members) std::erase(it->targets, t);
            if (a.members.empty() || it->targets.empty()) d.aliases.erase(it);
            changed = true;
            return 0;
        }
        std::size_t at = a.name.rfind('@');
        if (at == std::string::npos || at == 0 || at + 1 == a.name.size()) {
            std::cerr << "alias " << a.name << ": write local@domain\n";
            return 1;
        }
        if (directory::lookup(d, a.name).user) {
            std::cerr << a.name << " is already a user's address\n";
            return 1;
        }
        if (a.members.empty()) {
            std::cerr << "give at least one --target user:NAME or --target local@domain\n";
            return 1;
        }
        for (const std::string& t : a.members) {
            if (t.rfind("user:", 0) == 0) {
                const directory::User* u = d.user(t.substr(5));
                if (!u || u->addresses.empty()) {
                    std::cerr << "--target " << t << ": no such user with an address\n";
                    return 1;
                }
            } else if (t.find('@') == std::string::npos) {
                std::cerr << "--target " << t << ": write user:NAME or local@domain\n";
                return 1;
            }
        }
        if (it == d.aliases.end()) {  // add creates the alias, or adds targets to it
            d.aliases.push_back({a.name, {}});
            it = d.aliases.end() - 1;
        }
        for (const std::string& t : a.members)
            if (std::find(it->targets.begin(), it->targets.end(), t) == it->targets.end()) it->targets.push_back(t);
        changed = true;
        return 0;
    });

}

// rampart queue ACTION [ID|--all] [--json]: one request to the running server.

}  // namespace rampart::cli
