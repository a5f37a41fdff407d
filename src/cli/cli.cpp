// cli/cli.cpp — subcommands: serve, check, explain, user, group, alias, server, queue, default-config, settings, version.
// Exit status: 0 success, 1 runtime failure (check: exposures found), 2 configuration error.
#include "cli/cli.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>

#include "config/check.hpp"
#include "admin/control.hpp"
#include "admin/queue_commands.hpp"
#include "config/load.hpp"
#include "config/settings.hpp"
#include "auth/gssapi.hpp"
#include "auth/kerberos_map.hpp"
#include "auth/ldap_verifier.hpp"
#include "auth/password.hpp"
#include "auth/verifier.hpp"
#include "delivery/dispatcher.hpp"
#include "filter/explain.hpp"
#include "filter/registry.hpp"
#include "directory/directory.hpp"
#include "directory/ldap_directory.hpp"
#include "directory/mailbox.hpp"
#include "server/server.hpp"
#include "policy/brakes.hpp"
#include "policy/explain.hpp"
#include "net/certificate.hpp"
#include "net/cidr.hpp"
#include "server/fd_limits.hpp"
#include "net/tls.hpp"
#include "queue/scheduler.hpp"
#include "queue/spool.hpp"
#include "util/log.hpp"

namespace rampart::cli {
namespace {

constexpr int kConfigError = 2;
constexpr int kExposures = 1;   // `check`: the configuration loads but departs from best practice

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
std::optional<directory::Directory> read_directory(const std::filesystem::path& path, bool to_log = false) {
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

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& i : items) out += (out.empty() ? "" : ",") + i;
    return out;
}

log::Level level_from(const std::string& s) {
    if (s == "debug") return log::Level::Debug;
    if (s == "warning") return log::Level::Warning;
    if (s == "error") return log::Level::Error;
    return log::Level::Info;
}

int serve(const std::string& path) {
    server::DescriptorLimit fds = server::prepare_process();   // SIGPIPE ignored, soft open-file limit = hard
    auto cfg = load(path);
    if (!cfg) return kConfigError;
    log::set_min_level(level_from(cfg->server.log_level));
    if (!cfg->server.log_file.empty() && !log::set_file(cfg->resolve(cfg->server.log_file).string())) {
        std::cerr << cfg->source << ": server.log_file: cannot open " << cfg->resolve(cfg->server.log_file) << "\n";
        return 1;
    }
    std::filesystem::path data = cfg->resolve(cfg->server.data_dir);
    queue::Spool spool(data / "spool");
    if (auto r = spool.open(); !r) {
        std::cerr << "server.data_dir: " << r.error().message << "\n";
        return 1;
    }
    std::shared_ptr<asio::ssl::context> tls, tls_client_auth;
    bool wants_tls = false, wants_client_certs = false;
    for (const auto& l : cfg->listeners) {
        wants_tls = wants_tls || l.tls != config::TlsMode::None;
        wants_client_certs = wants_client_certs || (l.tls != config::TlsMode::None && l.auth.server);
    }
    for (bool client_certs : {false, true}) {
        if (!wants_tls || (client_certs && !wants_client_certs)) continue;
        net::ServerTlsSettings ts;
        if (!cfg->tls.certificate.empty()) {
            ts.certificate = cfg->resolve(cfg->tls.certificate);
            ts.key = cfg->resolve(cfg->tls.key);
        }
        ts.self_signed_dir = data / "tls";
        ts.hostname = cfg->server.hostname;
        ts.tls13_only = cfg->tls.min_version == "TLSv1.3";
        auto t = net::make_server_context(ts, client_certs);
        if (!t) {
            std::cerr << cfg->source << ": " << t.error().message << "\n";
            return 1;
        }
        (client_certs ? tls_client_auth : tls) = *t;
    }
    std::unique_ptr<directory::Live> dir;
    std::filesystem::path dir_path = cfg->resolve(cfg->directory.file);
    auto load_directory = [&dir_path](bool reload) -> std::shared_ptr<const directory::Directory> {
        auto read = read_directory(dir_path, reload);
        if (!read) return nullptr;
        auto d = std::make_shared<const directory::Directory>(std::move(*read));
        log::info("directory.loaded", {{"file", dir_path.string()}, {"users", d->users.size()}, {"groups", d->groups.size()}});
        return d;
    };
    if (cfg->directory.backend == "file") {
        auto d = load_directory(false);
        if (!d) return kConfigError;
        dir = std::make_unique<directory::Live>(std::move(d));
    }
    // LDAP: no start without a first snapshot (an empty directory would refuse every user
    // silently); afterwards a failing server keeps the last good one.
    std::unique_ptr<directory::LdapDirectory> ldap;
    std::unique_ptr<auth::LdapBindVerifier> ldap_verifier;
    if (cfg->directory.backend == "ldap") {
        ldap = std::make_unique<directory::LdapDirectory>(*cfg);
        auto snap = ldap->load();
        if (!snap) {
            std::cerr << "directory: cannot read users and groups from LDAP: " << snap.error().message << "\n";
            return 1;
        }
        directory::log_loaded(*ldap, *snap);
        dir = std::make_unique<directory::Live>(std::make_shared<const directory::Directory>(std::move(snap->directory)));
        ldap_verifier = std::make_unique<auth::LdapBindVerifier>(*ldap);
    }
    for (const std::string& w : auth::integrated_warnings(*cfg)) log::warn("kerberos.unusable", {{"problem", w}});
    std::size_t threads = cfg->server.threads ? cfg->server.threads : std::max(1u, std::thread::hardware_concurrency());
    session::SessionServices services;
    services.config = &*cfg;
    services.spool = &spool;
    services.tls = tls.get();
    services.tls_client_auth = tls_client_auth.get();
    services.directory = dir.get();
    services.verifier = ldap_verifier.get();
    policy::Brakes brakes;
    services.brakes = &brakes;
    filter::Chain filters = filter::build_chain(*cfg);
    services.filters = &filters;
    server::Server server(*cfg, services, threads);
    server::DescriptorPlan fd_plan = server::plan_and_log(*cfg, fds, threads);
    server.limit_sessions(fd_plan.sessions);
    // Delivery runs on the server's first I/O context; sessions hand accepted messages to
    // the scheduler (listener → session → queue → delivery).
    std::unique_ptr<delivery::Dispatcher> dispatcher;
    try {  // start-up: a connector's certificate, CA file or password file may not load
        dispatcher = std::make_unique<delivery::Dispatcher>(server.main_context().get_executor(), *cfg, spool, dir.get());
    } catch (const std::exception& e) {
        std::cerr << cfg->source << ": " << e.what() << "\n";
        return 1;
    }
    config::QueueSettings queue_settings = cfg->queue;
    queue_settings.delivery_concurrency = fd_plan.delivery_concurrency;   // lowered if descriptors are short
    queue::Scheduler scheduler(server.main_context().get_executor(), spool, queue_settings, cfg->server.hostname,
                               [d = dispatcher.get()](queue::Envelope& env) { return d->deliver(env); },
                               [d = dispatcher.get()](const queue::Envelope& env) { return d->local_only(env); });
    scheduler.set_quarantine_max_age(cfg->quarantine.max_age);
    admin::ControlServer control(server.main_context().get_executor(), admin::control_socket_path(data),
                                 [&scheduler, &spool](std::string request) {
                                     return admin::queue_command(scheduler, spool, std::move(request));
                                 });
    if (auto r = control.open(); !r) {
        // Two servers on one spool would deliver twice: refuse. Any other problem (e.g. a
        // data_dir path too long for a socket) only costs the queue tools.
        if (r.error().code == EADDRINUSE) {
            std::cerr << "server.data_dir: " << r.error().message << "\n";
            return 1;
        }
        log::error("control.unavailable", {{"error", r.error().message}, {"effect", "rampart queue cannot reach this server"}});
    }
    services.queued = [&scheduler](const queue::Envelope& env) { scheduler.submit(env); };
    std::vector<queue::Envelope> recovered = spool.recover();
    log::info("spool.recovered", {{"messages", recovered.size()}, {"dir", spool.dir().string()}});
    for (queue::Envelope& env : recovered) scheduler.submit(std::move(env));
    if (auto r = server.bind(); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
    }
    log::info("server.started", {{"version", RAMPART_VERSION}, {"config", cfg->source}, {"role", config::role_name(cfg->server.role)},
                                 {"threads", threads}, {"data_dir", data.string()}});
    std::unique_ptr<directory::LdapRefresher> refresher;
    if (ldap) refresher = std::make_unique<directory::LdapRefresher>(*ldap, *dir);
    server.run([&] {
        // SIGHUP: reload the directory; on errors keep serving with the previous one.
        if (refresher) return refresher->reload();
        if (!dir) return;
        if (auto d = load_directory(true)) dir->set(std::move(d));
        else log::error("directory.reload.failed", {{"file", dir_path.string()}, {"action", "kept the previous directory"}});
    });
    // Sockets and timers (the control socket, the dispatcher's idle connections) must go
    // while their I/O context still exists.
    control.close();
    dispatcher.reset();
    server.shutdown();
    log::info("server.stopped", {});
    return 0;
}

// ---- directory management: rampart user|group ... ----

struct DirArgs {
    std::string name;
    std::vector<std::string> addresses;
    std::vector<std::string> groups;
    std::vector<std::string> members;
    bool send_as_any = false;
    std::vector<std::string> kerberos;
};

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
// `prefix`: "" for rampart queue, "quarantine " for rampart quarantine (same socket).
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

struct ExplainArgs {
    std::string listener;
    std::string client_ip;
    std::string user;
    std::string server;
    std::string kerberos;
    bool tls = false;
    bool online = false;
    std::string mail_from;
    std::vector<std::string> rcpts;
};

int explain(const std::string& path, const ExplainArgs& args) {
    auto cfg = load(path);
    if (!cfg) return kConfigError;
    policy::ExplainQuestion q;
    for (const auto& l : cfg->listeners)
        if (l.name == args.listener) q.facts.listener = &l;
    if (!q.facts.listener) {
        std::cerr << "--listener: no listener named \"" << args.listener << "\" in " << cfg->source << "\n";
        return kConfigError;
    }
    auto ip = net::IpAddress::parse(args.client_ip);
    if (!ip) {
        std::cerr << "--client-ip: \"" << args.client_ip << "\" is not an IPv4 or IPv6 address\n";
        return kConfigError;
    }
    q.facts.client = ip->unmapped();
    q.facts.domains = &cfg->domains;
    q.facts.connectors = &cfg->send_connectors;
    q.facts.tls = args.tls || q.facts.listener->tls == config::TlsMode::Implicit;
    // The directory a live session asks (either backend), read once.
    // --user, --server and --kerberos are looked up in it too (with LDAP, servers come from
    // the directory file inside the same snapshot).
    auto read = read_configured_directory(*cfg);
    if (!read) return kConfigError;
    auto d = std::make_shared<const directory::Directory>(std::move(*read));
    q.facts.directory = d;
    if (!args.user.empty()) {
        q.facts.principal = {policy::Principal::Kind::User, args.user, {}, {}, false};
        const directory::User* u = d->user(args.user);
        if (!u) {
            std::cerr << "--user: no user named \"" << args.user << "\" in the directory\n";
            return kConfigError;
        }
        q.facts.principal.groups = d->groups_of(u->name);
        q.facts.principal.addresses = u->addresses;
        q.facts.principal.send_as_any = u->send_as_any;
    }
    if (!args.server.empty()) {
        if (!d->server(args.server)) {
            std::cerr << "--server: no server named \"" << args.server << "\" in the directory (add it with `rampart server add`)\n";
            return kConfigError;
        }
        if (!q.facts.listener->auth.server || q.facts.listener->tls == config::TlsMode::None) {
            // Live, such a client cannot authenticate at all (AUTH EXTERNAL needs both).
            std::cout << "listener " << q.facts.listener->name << " does not authenticate organisation servers "
                      << "(needs auth.server = true and TLS): server:" << args.server << " would stay anonymous\n";
            return 1;
        }
        q.facts.principal = {policy::Principal::Kind::Server, args.server, {}, {}, false};
    }
    if (!args.kerberos.empty()) {
        // What a live AUTH GSSAPI login does: offered only with integrated on and a keytab,
        // then the same mapping (auth/kerberos_map.hpp).
        if (!q.facts.listener->auth.integrated || !auth::gssapi_settings(*cfg)) {
            std::cout << "kerberos " << args.kerberos << ": listener " << q.facts.listener->name
                      << (q.facts.listener->auth.integrated ? " has no [kerberos] keytab" : " has auth.integrated off") << "\n"
                      << "AUTH GSSAPI: 504 5.5.4 authentication mechanism not offered on this listener\n";
            return 1;
        }
        std::optional<auth::KerberosMatch> m = auth::map_kerberos(*d, args.kerberos, cfg->kerberos.realm);
        if (!m) {
            std::cout << "kerberos " << args.kerberos << ": no directory user or server (users.kerberos, servers.kerberos, kerberos.realm)\n"
                      << "AUTH GSSAPI: 535 5.7.8 authentication credentials invalid\n";
            return 1;
        }
        std::cout << "kerberos " << args.kerberos << ": " << m->principal.text() << " (" << m->rule << ")\n";
        q.facts.principal = std::move(m->principal);
    }
    q.mail_from = args.mail_from;
    q.rcpts = args.rcpts;
    log::set_min_level(log::Level::Warning);   // the trace says it all; no verdict log lines
    filter::Chain chain = filter::build_chain(*cfg);
    filter::ChainExplainer filters(chain, q.facts.listener->filters, args.online);
    policy::ExplainAnswer a = policy::explain(q, &filters);
    std::cout << a.text;
    return a.all_accepted ? 0 : 1;
}

}  // namespace

int run(int argc, char** argv) {
    CLI::App app{"rampart " RAMPART_VERSION " — a locked-down SMTP transport server"};
    app.require_subcommand(1);
    std::string config_path;

    auto* serve_cmd = app.add_subcommand("serve", "Run the server (embedded default configuration without -c)");
    serve_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    auto* check_cmd = app.add_subcommand("check", "Load a configuration (errors with file:line, exit 2), then list every departure from the role's presets and what it exposes (exit 1 if any exposes more than the preset, 0 if none)");
    check_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    ExplainArgs ex;
    auto* explain_cmd = app.add_subcommand(
        "explain", "Show every access rule evaluated for a transaction, as a live session would decide it; exit 0 if all recipients are accepted, 1 if not");
    explain_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    explain_cmd->add_option("--listener", ex.listener, "Listener name")->required();
    explain_cmd->add_option("--client-ip", ex.client_ip, "Client address")->required();
    auto* user_opt = explain_cmd->add_option("--user", ex.user, "Authenticated user name");
    auto* server_opt = explain_cmd->add_option("--server", ex.server, "Organisation server name")->excludes(user_opt);
    explain_cmd->add_option("--kerberos", ex.kerberos, "Kerberos principal authenticated with GSSAPI (NAME@REALM), mapped as a live login maps it")
        ->excludes(user_opt)
        ->excludes(server_opt);
    explain_cmd->add_flag("--tls", ex.tls, "The session uses TLS");
    explain_cmd->add_flag("--online", ex.online, "Also run the filter agents that ask the network (DNS block lists, daemons); without it they are shown as not evaluated");
    explain_cmd->add_option("--mail-from", ex.mail_from, "Sender address (\"\" for the null sender)")->required();
    explain_cmd->add_option("--rcpt", ex.rcpts, "Recipient address (repeatable)")->required();
    DirArgs da;
    std::string user_action, group_action;
    auto* user_cmd = app.add_subcommand("user", "Manage users in the directory file: add|del|passwd|list (passwords are read from standard input); with backend = \"ldap\" only list");
    user_cmd->add_option("action", user_action, "add | del | passwd | list")->required()->check(CLI::IsMember({"add", "del", "passwd", "list"}));
    user_cmd->add_option("name", da.name, "User name");
    user_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    user_cmd->add_option("--address", da.addresses, "An address the user may send as (repeatable)");
    user_cmd->add_option("--group", da.groups, "A group the user belongs to (repeatable)");
    user_cmd->add_flag("--send-as-any", da.send_as_any, "The user may send as any address");
    user_cmd->add_option("--kerberos", da.kerberos, "A Kerberos principal (NAME@REALM) that logs in as this user with GSSAPI (repeatable)");
    auto* group_cmd = app.add_subcommand("group", "Manage groups in the directory file: add (create or add members)|del|list; with backend = \"ldap\" only list");
    group_cmd->add_option("action", group_action, "add | del | list")->required()->check(CLI::IsMember({"add", "del", "list"}));
    group_cmd->add_option("name", da.name, "Group name");
    group_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    group_cmd->add_option("--member", da.members, "user:NAME or group:NAME (repeatable)");
    std::string server_action, server_cert, server_fingerprint;
    auto* server_cmd = app.add_subcommand(
        "server", "Manage organisation servers (TLS client certificates for SASL EXTERNAL, Kerberos principals for GSSAPI) in the directory file: add|del|list");
    server_cmd->add_option("action", server_action, "add | del | list")->required()->check(CLI::IsMember({"add", "del", "list"}));
    server_cmd->add_option("name", da.name, "Server name (its principal is server:NAME)");
    server_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    server_cmd->add_option("--certificate", server_cert, "PEM file with the server's certificate; its SHA-256 fingerprint is stored");
    server_cmd->add_option("--fingerprint", server_fingerprint, "The certificate's SHA-256 fingerprint instead of --certificate (hex, colons allowed)");
    server_cmd->add_option("--kerberos", da.kerberos, "A Kerberos principal (service/host@REALM) that logs in as this server with GSSAPI (repeatable)");
    server_cmd->add_option("--address", da.addresses, "Client address or prefix the server connects from (repeatable; none: any)");
    std::string alias_action;
    auto* alias_cmd = app.add_subcommand("alias", "Manage aliases in the directory file: add (create or add targets)|del|list");
    alias_cmd->add_option("action", alias_action, "add | del | list")->required()->check(CLI::IsMember({"add", "del", "list"}));
    alias_cmd->add_option("address", da.name, "The alias address, local@domain");
    alias_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    alias_cmd->add_option("--target", da.members, "user:NAME or an address, local or remote (repeatable)");
    std::string queue_action, queue_id;
    bool queue_all = false, queue_json = false;
    auto* queue_cmd = app.add_subcommand(
        "queue", "Inspect and manage the queue of the running server (control socket in data_dir): list | show ID | retry ID|--all | hold ID | release ID | delete ID (no report) | bounce ID (report to the sender)");
    queue_cmd->add_option("action", queue_action, "list | show | retry | hold | release | delete | bounce")
        ->required()
        ->check(CLI::IsMember({"list", "show", "retry", "hold", "release", "delete", "bounce"}));
    queue_cmd->add_option("id", queue_id, "Queue id");
    queue_cmd->add_flag("--all", queue_all, "retry: every deferred message");
    queue_cmd->add_flag("--json", queue_json, "Machine-readable output (JSON)");
    queue_cmd->add_option("-c,--config", config_path, "Configuration file (TOML) of the running server");

    std::string quarantine_action, quarantine_id;
    auto* quarantine_cmd = app.add_subcommand(
        "quarantine", "Messages a filter agent quarantined (held in the spool of the running server): list | show ID | release ID (deliver it) | delete ID");
    quarantine_cmd->add_option("action", quarantine_action, "list | show | release | delete")
        ->required()
        ->check(CLI::IsMember({"list", "show", "release", "delete"}));
    quarantine_cmd->add_option("id", quarantine_id, "Queue id");
    quarantine_cmd->add_flag("--json", queue_json, "Machine-readable output (JSON)");
    quarantine_cmd->add_option("-c,--config", config_path, "Configuration file (TOML) of the running server");
    auto* default_cmd = app.add_subcommand("default-config", "Print the embedded default configuration");
    auto* settings_cmd = app.add_subcommand("settings", "Print the reference of every configuration key (Markdown)");
    auto* version_cmd = app.add_subcommand("version", "Print the version");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (*serve_cmd) return serve(config_path);
    if (*check_cmd) {
        auto cfg = load(config_path);
        if (!cfg) return kConfigError;
        for (const std::string& w : auth::integrated_warnings(*cfg)) std::cerr << cfg->source << ": warning: " << w << "\n";
        std::cout << cfg->source << ": configuration OK (role " << config::role_name(cfg->server.role) << ", "
                  << cfg->listeners.size() << " listener(s), " << cfg->domains.size() << " accepted domain(s), "
                  << cfg->send_connectors.size() << " send connector(s))\n";
        // Best practice: every departure from the role preset and what it exposes.
        std::vector<config::Finding> findings = config::analyse(*cfg);
        std::cout << config::render_findings(*cfg, findings);
        bool exposed = std::any_of(findings.begin(), findings.end(),
                                   [](const config::Finding& f) { return f.severity != config::Severity::Info; });
        return exposed ? kExposures : 0;
    }
    if (*explain_cmd) return explain(config_path, ex);
    if (*user_cmd || *group_cmd || *server_cmd || *alias_cmd) {
        const std::string& action = *user_cmd ? user_action : *group_cmd ? group_action : *server_cmd ? server_action : alias_action;
        if (action != "list" && da.name.empty()) {
            std::cerr << "a name is required for " << action << "\n";
            return kConfigError;
        }
        if (*server_cmd) return server_command(config_path, action, da, server_cert, server_fingerprint);
        if (*alias_cmd) return alias_command(config_path, action, da);
        return *user_cmd ? user_command(config_path, action, da) : group_command(config_path, action, da);
    }
    if (*queue_cmd) return queue_command(config_path, "", queue_action, queue_id, queue_all, queue_json);
    if (*quarantine_cmd) return queue_command(config_path, "quarantine ", quarantine_action, quarantine_id, false, queue_json);
    if (*default_cmd) {
        std::cout << config::default_config_text();
        return 0;
    }
    if (*settings_cmd) {
        std::cout << config::settings_reference();
        return 0;
    }
    if (*version_cmd) {
        std::cout << "rampart " RAMPART_VERSION "\n";
        return 0;
    }
    return 0;
}

}  // namespace rampart::cli
