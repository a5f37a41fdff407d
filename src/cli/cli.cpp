// cli/cli.cpp — subcommands: serve, check, explain, user, group, queue, default-config, settings, version.
// Exit status: 0 success, 1 runtime failure, 2 configuration error.
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

#include "admin/control.hpp"
#include "admin/queue_commands.hpp"
#include "config/load.hpp"
#include "config/settings.hpp"
#include "auth/password.hpp"
#include "delivery/dispatcher.hpp"
#include "directory/directory.hpp"
#include "net/server.hpp"
#include "policy/explain.hpp"
#include "net/tls.hpp"
#include "queue/scheduler.hpp"
#include "queue/spool.hpp"
#include "util/log.hpp"

namespace rampart::cli {
namespace {

constexpr int kConfigError = 2;

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

// Reads the directory file; prints every problem and returns nullopt on errors.
std::optional<directory::Directory> read_directory(const std::filesystem::path& path) {
    auto loaded = directory::Directory::load(path);
    if (auto* errors = std::get_if<std::vector<std::string>>(&loaded)) {
        for (const auto& e : *errors) std::cerr << e << "\n";
        return std::nullopt;
    }
    return std::get<directory::Directory>(std::move(loaded));
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
    std::shared_ptr<asio::ssl::context> tls;
    bool wants_tls = false;
    for (const auto& l : cfg->listeners) wants_tls = wants_tls || l.tls != config::TlsMode::None;
    if (wants_tls) {
        auto t = net::make_server_context(*cfg);
        if (!t) {
            std::cerr << cfg->source << ": " << t.error().message << "\n";
            return 1;
        }
        tls = *t;
    }
    std::unique_ptr<directory::Live> dir;
    std::filesystem::path dir_path = cfg->resolve(cfg->directory.file);
    auto load_directory = [&dir_path]() -> std::shared_ptr<const directory::Directory> {
        auto read = read_directory(dir_path);
        if (!read) return nullptr;
        auto d = std::make_shared<const directory::Directory>(std::move(*read));
        log::info("directory.loaded", {{"file", dir_path.string()}, {"users", d->users.size()}, {"groups", d->groups.size()}});
        return d;
    };
    if (cfg->directory.backend == "file") {
        auto d = load_directory();
        if (!d) return kConfigError;
        dir = std::make_unique<directory::Live>(std::move(d));
    }
    std::size_t threads = cfg->server.threads ? cfg->server.threads : std::max(1u, std::thread::hardware_concurrency());
    smtp::SessionServices services;
    services.config = &*cfg;
    services.spool = &spool;
    services.tls = tls.get();
    services.directory = dir.get();
    net::Server server(*cfg, services, threads);
    // Delivery runs on the server's first I/O context; sessions hand accepted messages to
    // the scheduler (listener → session → queue → delivery).
    auto dispatcher = std::make_unique<delivery::Dispatcher>(server.main_context().get_executor(), *cfg, spool);
    queue::Scheduler scheduler(server.main_context().get_executor(), spool, cfg->queue, cfg->server.hostname,
                               [d = dispatcher.get()](queue::Envelope& env) { return d->deliver(env); });
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
    server.run([&] {
        // SIGHUP: reload the directory; on errors keep serving with the previous one.
        if (!dir) return;
        if (auto d = load_directory()) dir->set(std::move(d));
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
};

std::optional<std::string> read_password() {
    std::string pw;
    if (!std::getline(std::cin, pw) || pw.empty()) return std::nullopt;
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    return pw;
}

int with_directory(const std::string& config_path, const std::function<int(directory::Directory&, bool& changed)>& f) {
    auto cfg = load(config_path);
    if (!cfg) return kConfigError;
    if (cfg->directory.backend != "file") {
        std::cerr << "directory.backend is \"" << cfg->directory.backend << "\": manage users in that backend\n";
        return 1;
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
    return with_directory(config_path, [&](directory::Directory& d, bool& changed) {
        if (action == "list") {
            for (const auto& u : d.users) {
                std::cout << u.name << "  addresses=" << join(u.addresses) << "  groups=" << join(d.groups_of(u.name))
                          << (u.send_as_any ? "  send-as-any" : "") << (u.password.empty() ? "  (no password)" : "") << "\n";
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
        if (action == "del") {
            d.users.erase(d.users.begin() + (u - d.users.data()));
            for (auto& g : d.groups) std::erase(g.members, "user:" + a.name);
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
            d.users.push_back({a.name, a.addresses, a.groups, *hash, a.send_as_any});
        } else {  // passwd
            u->password = *hash;
        }
        changed = true;
        return 0;
    });
}

int group_command(const std::string& config_path, const std::string& action, const DirArgs& a) {
    return with_directory(config_path, [&](directory::Directory& d, bool& changed) {
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

// rampart queue ACTION [ID|--all] [--json]: one request to the running server.
int queue_command(const std::string& path, const std::string& action, const std::string& id, bool all, bool json) {
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
    std::string request = action + (all ? " --all" : id.empty() ? "" : " " + id) + (json ? " --json" : "");
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
    bool tls = false;
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
    if (!args.user.empty()) {
        q.facts.principal = {policy::Principal::Kind::User, args.user, {}, {}, false};
        auto d = read_directory(cfg->resolve(cfg->directory.file));
        if (!d) return kConfigError;
        const directory::User* u = d->user(args.user);
        if (!u) {
            std::cerr << "--user: no user named \"" << args.user << "\" in the directory\n";
            return kConfigError;
        }
        q.facts.principal.groups = d->groups_of(u->name);
        q.facts.principal.addresses = u->addresses;
        q.facts.principal.send_as_any = u->send_as_any;
    }
    if (!args.server.empty()) q.facts.principal = {policy::Principal::Kind::Server, args.server, {}, {}, false};
    q.mail_from = args.mail_from;
    q.rcpts = args.rcpts;
    policy::ExplainAnswer a = policy::explain(q);
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
    auto* check_cmd = app.add_subcommand("check", "Load a configuration, report every error with file:line, exit 2 on errors");
    check_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    ExplainArgs ex;
    auto* explain_cmd = app.add_subcommand(
        "explain", "Show every access rule evaluated for a transaction, as a live session would decide it; exit 0 if all recipients are accepted, 1 if not");
    explain_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    explain_cmd->add_option("--listener", ex.listener, "Listener name")->required();
    explain_cmd->add_option("--client-ip", ex.client_ip, "Client address")->required();
    auto* user_opt = explain_cmd->add_option("--user", ex.user, "Authenticated user name");
    explain_cmd->add_option("--server", ex.server, "Organisation server name")->excludes(user_opt);
    explain_cmd->add_flag("--tls", ex.tls, "The session uses TLS");
    explain_cmd->add_option("--mail-from", ex.mail_from, "Sender address (\"\" for the null sender)")->required();
    explain_cmd->add_option("--rcpt", ex.rcpts, "Recipient address (repeatable)")->required();
    DirArgs da;
    std::string user_action, group_action;
    auto* user_cmd = app.add_subcommand("user", "Manage users in the directory file: add|del|passwd|list (passwords are read from standard input)");
    user_cmd->add_option("action", user_action, "add | del | passwd | list")->required()->check(CLI::IsMember({"add", "del", "passwd", "list"}));
    user_cmd->add_option("name", da.name, "User name");
    user_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    user_cmd->add_option("--address", da.addresses, "An address the user may send as (repeatable)");
    user_cmd->add_option("--group", da.groups, "A group the user belongs to (repeatable)");
    user_cmd->add_flag("--send-as-any", da.send_as_any, "The user may send as any address");
    auto* group_cmd = app.add_subcommand("group", "Manage groups in the directory file: add (create or add members)|del|list");
    group_cmd->add_option("action", group_action, "add | del | list")->required()->check(CLI::IsMember({"add", "del", "list"}));
    group_cmd->add_option("name", da.name, "Group name");
    group_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    group_cmd->add_option("--member", da.members, "user:NAME or group:NAME (repeatable)");
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
        std::cout << cfg->source << ": configuration OK (role " << config::role_name(cfg->server.role) << ", "
                  << cfg->listeners.size() << " listener(s), " << cfg->domains.size() << " accepted domain(s), "
                  << cfg->send_connectors.size() << " send connector(s))\n";
        return 0;
    }
    if (*explain_cmd) return explain(config_path, ex);
    if (*user_cmd || *group_cmd) {
        const std::string& action = *user_cmd ? user_action : group_action;
        if (action != "list" && da.name.empty()) {
            std::cerr << "a name is required for " << action << "\n";
            return kConfigError;
        }
        return *user_cmd ? user_command(config_path, action, da) : group_command(config_path, action, da);
    }
    if (*queue_cmd) return queue_command(config_path, queue_action, queue_id, queue_all, queue_json);
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
