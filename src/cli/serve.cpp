// cli/serve.cpp — `rampart serve`: the one place the running server is wired together (listener → session → policy → filters → queue → routing → delivery).
#include "cli/commands.hpp"

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/ssl/context.hpp>

#include "admin/block_commands.hpp"
#include "admin/control.hpp"
#include "admin/queue_commands.hpp"
#include "auth/gssapi.hpp"
#include "auth/ldap_verifier.hpp"
#include "delivery/dispatcher.hpp"
#include "directory/ldap_directory.hpp"
#include "dns/resolver.hpp"
#include "filter/block_list.hpp"
#include "filter/registry.hpp"
#include "filter/reputation.hpp"
#include "net/tls.hpp"
#include "policy/brakes.hpp"
#include "queue/scheduler.hpp"
#include "queue/spool.hpp"
#include "server/fd_limits.hpp"
#include "server/server.hpp"
#include "session/back_pressure.hpp"
#include "util/log.hpp"

namespace rampart::cli {
namespace {
asio::awaitable<std::string> answer_now(std::string response) { co_return response; }
}  // namespace
namespace {

log::Level level_from(const std::string& s) {
    if (s == "debug") return log::Level::Debug;
    if (s == "warning") return log::Level::Warning;
    if (s == "error") return log::Level::Error;
    return log::Level::Info;
}

// One control-socket request: `rampart block` or the queue tools. A plain coroutine
// function (GCC 12 mishandles capturing lambda coroutines).
asio::awaitable<std::string> control_command(queue::Scheduler& scheduler, const queue::Spool& spool, filter::BlockList& block_list,
                                             std::string request) {
    if (admin::is_block_request(request)) co_return admin::block_command(block_list, request);
    co_return co_await admin::queue_command(scheduler, spool, std::move(request));
}

// Back pressure's periodic sample: the queue's length (read on the scheduler's own thread)
// and the disk, every second. Ends when the I/O context stops.
asio::awaitable<void> sample_back_pressure(session::BackPressure& bp, const queue::Scheduler& scheduler) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (true) {
        bp.sample(scheduler.size());
        timer.expires_after(std::chrono::seconds(1));
        std::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
    }
}

}  // namespace

int serve(const std::string& path) {
    server::DescriptorLimit fds = server::prepare_process();   // SIGPIPE ignored, soft open-file limit = hard
    auto cfg = load(path);
    if (!cfg) return kConfigError;
    log::set_min_level(level_from(cfg->server.log_level));
    server::apply_max_open_files(cfg->server.max_open_files, fds);
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
    // No start without a first snapshot (an empty directory would refuse every user
    // silently); afterwards a failing LDAP server or a bad reload keeps the last good one.
    auto opened = open_directory(*cfg, true);
    if (!opened) return cfg->directory.backend == "ldap" ? 1 : kConfigError;
    add_pinned_hub(opened->snapshot, *cfg);   // edge: the subscribed hub is an organisation server
    auto dir = std::make_unique<directory::Live>(std::make_shared<const directory::Directory>(std::move(opened->snapshot)));
    config::LiveEdges edges;   // hub: the subscribed edges (from-edge listener)
    if (cfg->server.role == config::Role::Hub) edges.set(load_pinned_edges(*cfg));
    std::unique_ptr<directory::LdapDirectory> ldap = std::move(opened->ldap);
    std::unique_ptr<auth::LdapBindVerifier> ldap_verifier;
    if (ldap) ldap_verifier = std::make_unique<auth::LdapBindVerifier>(*ldap);
    std::filesystem::path dir_path = cfg->resolve(cfg->directory.file);
    for (const std::string& w : auth::integrated_warnings(*cfg)) log::warn("kerberos.unusable", {{"problem", w}});
    std::size_t threads = cfg->server.threads ? cfg->server.threads : std::max(1u, std::thread::hardware_concurrency());
    session::SessionServices services;
    services.config = &*cfg;
    services.spool = &spool;
    services.tls = tls.get();
    services.tls_client_auth = tls_client_auth.get();
    services.directory = dir.get();
    services.verifier = ldap_verifier.get();
    services.edges = &edges;
    policy::Brakes brakes;
    services.brakes = &brakes;
    // The dynamic block list (`rampart block`) and the resolver of the DNS lists: owned
    // here, used by the connection filter and the control socket.
    filter::BlockList block_list(data / filter::kBlockListFile);
    if (auto r = block_list.load(); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
    }
    std::unique_ptr<dns::Resolver> dns_lists;
    if (!cfg->connection_filter.block_providers.empty() || !cfg->connection_filter.allow_providers.empty())
        dns_lists = std::make_unique<dns::Resolver>(cfg->dns);
    filter::Chain filters;
    try {  // start-up: an agent's data (the Public Suffix List) may not load
        filters = filter::build_chain(*cfg, filter::ChainServices{dns_lists.get(), &block_list});
    } catch (const std::exception& e) {
        std::cerr << cfg->source << ": " << e.what() << "\n";
        return 1;
    }
    services.filters = &filters;
    // Sender reputation: fed by filtered sessions, blocks through the dynamic block list.
    filter::Reputation reputation(cfg->reputation, cfg->connection_filter.allow, &block_list);
    services.reputation = &reputation;
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
    session::BackPressure back_pressure(cfg->back_pressure, data);
    services.back_pressure = &back_pressure;
    asio::co_spawn(server.main_context(), sample_back_pressure(back_pressure, scheduler), asio::detached);
    admin::ControlServer control(server.main_context().get_executor(), admin::control_socket_path(data),
                                 [&scheduler, &spool, &server, &brakes, &block_list, &back_pressure, &edges, &cfg](std::string request) {
                                     if (request == "reload-edges") {   // rampart hub add-edge | remove-edge
                                         edges.set(load_pinned_edges(*cfg));
                                         return answer_now("ok\n");
                                     }
                                     if (is_live_state_request(request))   // rampart explain
                                         return answer_now(live_state_answer(server, brakes, back_pressure, request));
                                     return control_command(scheduler, spool, block_list, std::move(request));
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
    services.queued = [&scheduler, &back_pressure](const queue::Envelope& env) {
        scheduler.submit(env);
        back_pressure.committed();
    };
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
        if (cfg->server.role == config::Role::Hub) edges.set(load_pinned_edges(*cfg));
        if (refresher) return refresher->reload();
        if (auto d = read_directory(dir_path, true)) {
            log::info("directory.loaded", {{"file", dir_path.string()}, {"users", d->users.size()}, {"groups", d->groups.size()}});
            add_pinned_hub(*d, *cfg);
            dir->set(std::make_shared<const directory::Directory>(std::move(*d)));
        } else log::error("directory.reload.failed", {{"file", dir_path.string()}, {"action", "kept the previous directory"}});
    });
    // Sockets and timers (the control socket, the dispatcher's idle connections) must go
    // while their I/O context still exists.
    control.close();
    dispatcher.reset();
    server.shutdown();
    dns_lists.reset();   // look-ups in progress finish while the I/O contexts still exist
    log::info("server.stopped", {});
    return 0;
}

}  // namespace rampart::cli
