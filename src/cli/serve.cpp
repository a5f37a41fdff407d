// cli/serve.cpp — `rampart serve`: the one place the running server is wired together (listener → session → policy → filters → queue → routing → delivery).
#include "cli/commands.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <cerrno>
#include <iostream>
#include <mutex>
#include <thread>

#include <unistd.h>

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
#include "cli/reload.hpp"
#include "cli/admin_listener.hpp"
#include "cli/console_ops.hpp"
#include "auth/ldap_verifier.hpp"
#include "config/load.hpp"
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
#include "replication/transport.hpp"
#include "server/fd_limits.hpp"
#include "server/local_submission.hpp"
#include "server/notify.hpp"
#include "server/privileges.hpp"
#include "server/server.hpp"
#include "session/back_pressure.hpp"
#include "tracking/recorder.hpp"
#include "util/log.hpp"
#include "util/log_observer.hpp"
#include "net/descriptor_budget.hpp"

namespace rampart::cli {
namespace {
asio::awaitable<std::string> answer_now(std::string response) { co_return response; }

// The text the running configuration was loaded from (compared on reload).
std::string config_text(const std::string& path) {
    if (path.empty()) return std::string(config::default_config_text());
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
}  // namespace
namespace {

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
    auto loaded = load(path);
    if (!loaded) return kConfigError;
    auto run_as = server::plan_run_as(loaded->server);   // before anything is opened: a missing user stops here
    if (!run_as) {
        std::cerr << loaded->source << ": " << run_as.error().message << "\n";
        return 1;
    }
    // The first configuration generation; a reload (SIGHUP) makes the next ones (cli/reload.hpp).
    std::shared_ptr<const config::Config> cfg = std::make_shared<const config::Config>(std::move(*loaded));
    auto first = std::make_shared<server::Generation>();
    first->config = cfg;
    auto parts = std::make_shared<GenerationParts>();
    first->owned = parts;
    log::set_min_level(log_level_from(cfg->server.log_level));
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
    // Message tracking: the log events it tracks go to its writer thread from here on; the
    // guard takes the observer away before the recorder goes (objects made later go first).
    std::unique_ptr<tracking::Recorder> tracker = start_tracking(*cfg, data);
    struct ObserverGuard {
        ~ObserverGuard() { log::set_observer(nullptr); }
    } observer_guard;
    if (tracker) log::set_observer(tracker.get());
    if (auto r = add_tls_contexts(*cfg, data, *parts); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
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
    session::SessionServices& services = first->services;
    services.config = cfg.get();
    services.spool = &spool;
    services.tls = parts->tls.get();
    services.tls_client_auth = parts->tls_client_auth.get();
    services.directory = dir.get();
    services.verifier = ldap_verifier.get();
    services.edges = &edges;
    policy::Brakes brakes;
    services.brakes = &brakes;
    // The dynamic block list (`rampart block`) and the one shared DNS resolver (DNS lists,
    // SPF, DKIM, DMARC, delivery's MX): owned here.
    filter::BlockList block_list(data / filter::kBlockListFile);
    if (auto r = block_list.load(); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
    }
    // One resolver with one cache for everything: MX, DNS lists, SPF, DKIM, DMARC.
    auto dns_lists = std::make_unique<dns::Resolver>(cfg->dns);
    // Replication (docs/architecture.md "Replication"): the edge's listener and replica.
    std::unique_ptr<replication::EdgeSync> edge_sync;
    std::unique_ptr<replication::HubSync> hub_sync;
    // The descriptors sessions and DNS queries use briefly (server/fd_limits.hpp), sized by
    // the plan below; made before the server, so they outlive every session's lease.
    std::unique_ptr<net::DescriptorBudget> commit_descriptors, dns_descriptors;
    server::Server server(first, threads);
    if (cfg->server.role == config::Role::Edge) {
        edge_sync = std::make_unique<replication::EdgeSync>(server.main_context().get_executor(), *cfg, data);
        if (auto r = edge_sync->open(); !r) {
            std::cerr << cfg->source << ": " << r.error().message << "\n";
            return 1;
        }
    }
    try {  // start-up: an agent's data (the Public Suffix List) may not load
        parts->filters = std::make_shared<filter::Chain>(filter::build_chain(
            *cfg, filter::ChainServices{dns_lists.get(), &block_list, edge_sync ? &edge_sync->replica() : nullptr}));
    } catch (const std::exception& e) {
        std::cerr << cfg->source << ": " << e.what() << "\n";
        return 1;
    }
    services.filters = parts->filters.get();
    // Sender reputation: fed by filtered sessions, blocks through the dynamic block list.
    filter::Reputation reputation(cfg->reputation, cfg->connection_filter.allow, &block_list);
    services.reputation = &reputation;
    server::DescriptorPlan fd_plan = server::plan_and_log(*cfg, fds, threads);
    server.limit_sessions(fd_plan.sessions);
    commit_descriptors = std::make_unique<net::DescriptorBudget>(fd_plan.commit_budget());
    dns_descriptors = std::make_unique<net::DescriptorBudget>(fd_plan.dns_sockets);
    services.commit_descriptors = commit_descriptors.get();
    services.descriptors_per_commit = fd_plan.per_commit;
    dns_lists->set_descriptor_budget(dns_descriptors.get());
    // Delivery runs on the server's first I/O context; sessions hand accepted messages to
    // the scheduler (listener → session → queue → delivery).
    std::unique_ptr<delivery::Dispatcher> dispatcher;
    try {  // start-up: a connector's certificate, CA file or password file may not load
        dispatcher = std::make_unique<delivery::Dispatcher>(server.main_context().get_executor(), *cfg, spool, dir.get(), dns_lists.get());
    } catch (const std::exception& e) {
        std::cerr << cfg->source << ": " << e.what() << "\n";
        return 1;
    }
    if (cfg->server.role == config::Role::Hub) {
        // Role hub: the connector to the edges follows add-edge / remove-edge without a
        // restart; rebuilt only when the list of edges changed (asked once per attempt).
        // Sessions (RCPT's routing check, any thread) see the configuration's connectors with
        // the live one in place of the one made at load.
        struct EdgesRoute {
            std::mutex mutex;
            std::shared_ptr<const std::vector<config::PinnedEdge>> seen;
            std::shared_ptr<const std::vector<config::SendConnector>> routes, all;
        };
        auto memo = std::make_shared<EdgesRoute>();
        auto refresh = [&edges, &cfg, memo] {
            std::lock_guard lock(memo->mutex);
            auto now = edges.get();
            if (now != memo->seen || !memo->routes) {
                auto routes = std::make_shared<std::vector<config::SendConnector>>();
                if (auto c = config::edges_connector(*cfg, *now)) routes->push_back(std::move(*c));
                auto all = std::make_shared<std::vector<config::SendConnector>>();
                for (const config::SendConnector& c : cfg->send_connectors)
                    if (!c.implicit) all->push_back(c);
                all->insert(all->end(), routes->begin(), routes->end());
                memo->seen = std::move(now);
                memo->routes = std::move(routes);
                memo->all = std::move(all);
            }
            return std::pair{memo->routes, memo->all};
        };
        dispatcher->set_default_routes([refresh] { return refresh().first; });
        services.live_connectors = [refresh] { return refresh().second; };
    }
    if (edge_sync) {   // role edge: domains and routes replicated from the hub, applied live
        const replication::LiveReplica* replica = &edge_sync->replica();
        dispatcher->set_routes([replica] {
            auto r = replica->get();
            return r ? r->hub_routes : nullptr;
        });
        services.live_domains = [replica]() -> std::shared_ptr<const std::vector<config::Domain>> {
            auto r = replica->get();
            return r && r->config.serial > 0 ? r->edge_domains : nullptr;
        };
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
    if (cfg->server.role == config::Role::Hub) {
        hub_sync = std::make_unique<replication::HubSync>(server.main_context().get_executor(), *cfg, data, [&dir, &dir_path, &cfg] {
            // The file backend is read afresh, so `rampart user add` + `hub sync --now` replicates at once.
            if (cfg->directory.backend == "file")
                if (auto d = read_directory(dir_path, true)) return std::shared_ptr<const directory::Directory>(std::make_shared<directory::Directory>(std::move(*d)));
            return dir->get();
        });
        if (auto r = hub_sync->open(); !r) {
            std::cerr << cfg->source << ": " << r.error().message << "\n";
            return 1;
        }
    }
    admin::ControlServer control(server.main_context().get_executor(), admin::control_socket_path(data),
                                 [&scheduler, &spool, &server, &brakes, &block_list, &back_pressure, &hub_sync, &edges, &cfg](std::string request) {
                                     if (request == "reload-edges") {   // rampart hub add-edge | remove-edge
                                         edges.set(load_pinned_edges(*cfg));
                                         return answer_now("ok\n");
                                     }
                                     if (is_live_state_request(request))   // rampart explain
                                         return answer_now(live_state_answer(server, brakes, back_pressure, request));
                                     if (request == "hub-sync")   // rampart hub sync --now
                                         return hub_sync ? hub_sync->sync_now() : answer_now("error\nnot a hub (server.role = \"hub\")\n");
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
    // The admin listener (/metrics, the web console) on the scheduler's context, like the control socket.
    console::Services console_services;   // the web console's view of the running server
    console_services.config = [&server] { return server.generation()->config; };
    console_services.config_path = path.empty() ? std::filesystem::path() : std::filesystem::absolute(path);
    console_services.directory = dir.get();
    console_services.verifier = ldap_verifier.get();
    console_services.brakes = &brakes;
    console_services.data_dir = data;
    console_services.scheduler = &scheduler;
    Reloader* console_reloader = nullptr;   // the reloader below, once it exists (before run())
    console_services.reload_config = [&console_reloader]() -> Result<Ok> {
        if (!console_reloader) return Error{0, "the server is still starting"};
        return console_reloader->reload();
    };
    fill_ops_services(console_services, {&spool, tracker ? data / "tracking.db" : std::filesystem::path(), &server, &back_pressure});
    AdminListener admin_http = open_admin_listener(*cfg, server.main_context().get_executor(), scheduler, std::move(console_services));
    if (admin_http.failed) return 1;
    services.queued = [&scheduler, &back_pressure](const queue::Envelope& env) {
        scheduler.submit(env);
        back_pressure.committed();
    };
    std::vector<queue::Envelope> recovered = spool.recover();
    log::info("spool.recovered", {{"messages", recovered.size()}, {"dir", spool.dir().string()}});
    for (queue::Envelope& env : recovered) scheduler.submit(std::move(env));
    // `rampart sendmail`: data_dir/submit.sock (open before the ports: a client that
    // reaches a port finds the socket too).
    std::unique_ptr<server::LocalSubmission> local_submission = server::open_local_submission(
        server.main_context().get_executor(), server, data, *run_as ? (*run_as)->uid : ::getuid());
    if (auto r = server.bind(); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
    }
    // Everything privileged is open: ports, spool, log, TLS keys, sockets. Become server.user.
    if (auto r = server::become_server_user(*run_as, *cfg, data, dir_path); !r) {
        std::cerr << cfg->source << ": " << r.error().message << "\n";
        return 1;
    }
    log::info("server.started", {{"version", RAMPART_VERSION}, {"config", cfg->source}, {"role", config::role_name(cfg->server.role)},
                                 {"threads", threads}, {"data_dir", data.string()}});
    server::notify_ready("Serving " + std::to_string(cfg->listeners.size()) + " listener(s), " +
                         std::to_string(recovered.size()) + " message(s) recovered from the spool");
    std::unique_ptr<directory::LdapRefresher> refresher;
    if (ldap) refresher = std::make_unique<directory::LdapRefresher>(*ldap, *dir);
    if (edge_sync)   // the first push pinned the hub: it becomes the organisation server "hub" at once
        edge_sync->on_hub_pinned([&dir, &cfg] {
            auto d = std::make_shared<directory::Directory>(*dir->get());
            add_pinned_hub(*d, *cfg);
            dir->set(std::move(d));
        });
    Reloader reloader{path, config_text(path), &server, &dns_lists, &block_list, &scheduler, data,
                      edge_sync ? &edge_sync->replica() : nullptr};
    console_reloader = &reloader;
    server.run([&] {
        // SIGHUP: reload the whole configuration, then the directory; on errors keep serving
        // with the previous ones.
        server::notify_reloading();
        struct Ready {   // READY=1 again however the reload ends
            ~Ready() { server::notify_ready("Serving (configuration reloaded)"); }
        } ready;
        (void)reloader.reload();   // failures are logged; the console reads the result
        reload_admin_token(admin_http, *server.generation()->config);
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
    if (local_submission) local_submission->close();
    if (admin_http.server) admin_http.server->close();
    if (hub_sync) hub_sync->close();
    if (edge_sync) edge_sync->close();
    dispatcher.reset();
    server.shutdown();
    dns_lists.reset();   // look-ups in progress finish while the I/O contexts still exist
    log::info("server.stopped", {});
    return 0;
}

}  // namespace rampart::cli
