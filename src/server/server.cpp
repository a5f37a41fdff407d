// server/server.cpp — acceptors, connection limits, thread pool.
#include "server/server.hpp"

#include <csignal>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "net/accept_backoff.hpp"
#include "server/fd_limits.hpp"
#include "server/notify.hpp"
#include "net/socket_stream.hpp"
#include "policy/access.hpp"
#include "smtp/reply.hpp"
#include "util/log.hpp"
#include "util/metric_catalog.hpp"

namespace rampart::server {

namespace {

// Counts connections per listener and per client address (the anvil of Postfix).
class ConnectionLimits {
public:
    // The policy decision on the counts (the same one `rampart explain` shows); admitted
    // (not Refuse): the caller must call leave() later.
    policy::Decision enter(const config::Listener& l, const std::string& hostname, const std::string& client) {
        std::lock_guard lock(mutex_);
        auto& total = totals_[l.name];
        auto& per = per_source_[l.name][client];
        policy::Decision d = policy::check_connection_limits(l, hostname, policy::ConnectionCounts{total, per});
        if (d.verdict == policy::Verdict::Refuse) {
            if (per == 0) per_source_[l.name].erase(client);
            return d;
        }
        ++total;
        ++per;
        return d;
    }
    policy::ConnectionCounts counts(const std::string& listener, const std::string& client) {
        std::lock_guard lock(mutex_);
        policy::ConnectionCounts c;
        if (auto t = totals_.find(listener); t != totals_.end()) c.listener = t->second;
        if (auto m = per_source_.find(listener); m != per_source_.end())
            if (auto it = m->second.find(client); it != m->second.end()) c.source = it->second;
        return c;
    }
    void leave(const config::Listener& l, const std::string& client) {
        std::lock_guard lock(mutex_);
        --totals_[l.name];
        auto& m = per_source_[l.name];
        auto it = m.find(client);
        if (it != m.end() && --it->second == 0) m.erase(it);
    }

private:
    std::mutex mutex_;
    std::map<std::string, std::uint32_t> totals_;
    std::map<std::string, std::map<std::string, std::uint32_t>> per_source_;
};

}  // namespace

// One bound address of a listener (by name: a reload keeps the socket of an address its
// listener still has).
struct BoundAddress {
    std::string listener;
    std::string address;   // Endpoint::text()
    std::shared_ptr<asio::ip::tcp::acceptor> acceptor;
};

struct Server::Impl {
    std::shared_ptr<Generation> current;   // read and replaced on the main context only
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    std::vector<BoundAddress> acceptors;
    ConnectionLimits limits;
    std::unique_ptr<SessionGate> gate;   // sessions at once, all listeners (descriptors)
    std::size_t next = 0;
    bool running = false;   // run() has started the accept loops

    Impl(std::shared_ptr<Generation> first, std::size_t threads) : current(std::move(first)) {
        for (std::size_t i = 0; i < threads; ++i) {
            contexts.push_back(std::make_unique<asio::io_context>(1));
            guards.push_back(asio::make_work_guard(*contexts.back()));
            // Create the context's reactor (epoll, eventfd, timerfd) now: made lazily by the
            // first connection handed to it, it could fail for want of descriptors and throw
            // out of the acceptor.
            asio::steady_timer reactor(*contexts.back());
        }
        gate = std::make_unique<SessionGate>(contexts.front()->get_executor(), std::numeric_limits<std::uint32_t>::max());
    }

    // A session admitted by the gate; leaving it (after the socket is closed) lets an
    // acceptor take the next connection.
    asio::awaitable<void> admitted(std::shared_ptr<Generation> gen, const config::Listener& l, asio::ip::tcp::socket socket) {
        co_await session(*gen, l, std::move(socket));
        gate->leave();
    }

    asio::awaitable<void> session(Generation& gen, const config::Listener& l, asio::ip::tcp::socket socket) {
        std::error_code ec;
        auto remote = socket.remote_endpoint(ec);
        if (ec) co_return;
        socket.set_option(asio::ip::tcp::no_delay(true), ec);
        session::ClientInfo client;
        client.address = *net::IpAddress::parse(remote.address().to_string());
        client.address = client.address.unmapped();
        client.port = remote.port();
        std::string who = client.address.text();
        policy::Decision admitted = limits.enter(l, gen.config->server.hostname, who);
        if (admitted.verdict == policy::Verdict::Refuse) {
            log::warn("smtp.connection.limited", {{"listener", l.name}, {"client", who}, {"rule", admitted.rule},
                                                  {"reason", admitted.reply.text}});
            std::string r = admitted.reply.wire();
            co_await asio::async_write(socket, asio::buffer(r), asio::redirect_error(asio::use_awaitable, ec));
            co_return;
        }
        metrics::catalog().sessions.with({l.name}).inc();
        metrics::Gauge& active = metrics::catalog().sessions_active.with({l.name});
        active.add(1);
        {
            net::TcpStream stream(std::move(socket));
            co_await session::serve_session(stream, l, client, gen.services);
        }
        active.add(-1);
        limits.leave(l, who);
    }

    // Binds every address of the current generation's listeners that has no socket yet (all
    // of them at start); each failure is reported (listener name, address, errno). Once
    // run() has begun, each new socket gets its accept loop here.
    Result<Ok> bind_new() {
        std::string errors;
        for (const config::Listener& l : current->config->listeners) {
            for (const config::Endpoint& e : l.bind) {
                bool bound = false;
                for (const BoundAddress& b : acceptors) bound = bound || (b.listener == l.name && b.address == e.text());
                if (bound) continue;
                std::error_code ec;
                auto addr = asio::ip::make_address(e.host, ec);
                asio::ip::tcp::endpoint ep(addr, e.port);
                auto acc = std::make_shared<asio::ip::tcp::acceptor>(*contexts.front());
                if (!ec) acc->open(ep.protocol(), ec);
                if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
                if (!ec && addr.is_v6()) acc->set_option(asio::ip::v6_only(true), ec);
                if (!ec) acc->bind(ep, ec);
                if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
                if (ec) {
                    errors += (errors.empty() ? "" : "; ") + std::string("listener ") + l.name + ": cannot listen on " + e.text() +
                              ": " + ec.message();
                    continue;
                }
                log::info("net.listening", {{"listener", l.name}, {"address", e.text()}});
                acceptors.push_back(BoundAddress{l.name, e.text(), acc});
                if (running) asio::co_spawn(*contexts.front(), accept_loop(l.name, acc), asio::detached);
            }
        }
        if (!errors.empty()) return Error{0, errors};
        return Ok{};
    }

    // The listener named `name` in the current generation (null: removed by a reload).
    const config::Listener* listener(const std::string& name) const {
        for (const config::Listener& l : current->config->listeners)
            if (l.name == name) return &l;
        return nullptr;
    }

    asio::awaitable<void> accept_loop(std::string name, std::shared_ptr<asio::ip::tcp::acceptor> held) {
        asio::ip::tcp::acceptor& acceptor = *held;
        const config::Listener* lp = listener(name);
        if (!lp) co_return;
        net::AcceptBackoff backoff(name);
        while (acceptor.is_open()) {
            co_await gate->wait_for_room();   // full: leave new connections in the listen queue
            if (!acceptor.is_open()) co_return;
            asio::io_context& target = *contexts[next++ % contexts.size()];
            std::error_code ec;
            std::optional<asio::ip::tcp::socket> socket;
            try {
                socket.emplace(co_await acceptor.async_accept(target, asio::redirect_error(asio::use_awaitable, ec)));
            } catch (const std::system_error& e) {   // a socket object could not be made
                ec = e.code();
            }
            lp = listener(name);   // a reload may have changed its rules since the last one
            if (!lp) co_return;
            const config::Listener& l = *lp;
            if (ec) {
                if (ec == asio::error::operation_aborted) co_return;
                if (ec == asio::error::connection_aborted) continue;   // the client gave up first
                // EMFILE and the like: wait, longer each time, and say so once per episode.
                co_await backoff.wait_after(ec);
                continue;
            }
            backoff.accepted();
            gate->enter();
            asio::co_spawn(target, admitted(current, l, std::move(*socket)), asio::detached);
        }
    }
};

Server::Server(std::shared_ptr<Generation> first, std::size_t threads)
    : impl_(std::make_unique<Impl>(std::move(first), threads == 0 ? 1 : threads)) {}

Server::~Server() = default;

asio::io_context& Server::main_context() { return *impl_->contexts.front(); }

policy::ConnectionCounts Server::connection_counts(const std::string& listener, const std::string& client) {
    return impl_->limits.counts(listener, client);
}

void Server::limit_sessions(std::uint32_t sessions) { impl_->gate->set_capacity(sessions); }

Result<Ok> Server::bind() { return impl_->bind_new(); }

std::shared_ptr<const Generation> Server::generation() const { return impl_->current; }

Result<Ok> Server::reconfigure(std::shared_ptr<Generation> next) {
    impl_->current = std::move(next);
    // Close the addresses no listener of the new generation has; their accept loops end.
    std::erase_if(impl_->acceptors, [&](BoundAddress& b) {
        if (const config::Listener* l = impl_->listener(b.listener))
            for (const config::Endpoint& e : l->bind)
                if (e.text() == b.address) return false;
        std::error_code ec;
        b.acceptor->close(ec);
        log::info("net.listening.closed", {{"listener", b.listener}, {"address", b.address}});
        return true;
    });
    return impl_->bind_new();
}

void Server::run(std::function<void()> on_reload) {
    asio::io_context& main = main_context();
    impl_->running = true;
    for (BoundAddress& b : impl_->acceptors) asio::co_spawn(main, impl_->accept_loop(b.listener, b.acceptor), asio::detached);
    asio::signal_set signals(main, SIGINT, SIGTERM);
    signals.async_wait([this](const std::error_code& ec, int sig) {
        if (ec) return;
        log::info("server.stopping", {{"signal", sig}});
        notify_stopping();
        stop();
    });
    asio::signal_set hup(main, SIGHUP);
    std::function<void(const std::error_code&, int)> on_hup = [&](const std::error_code& ec, int) {
        if (ec) return;
        if (on_reload) on_reload();
        hup.async_wait(on_hup);
    };
    hup.async_wait(on_hup);
    // SIGUSR1: reopen the log file by name (logrotate has renamed it).
    asio::signal_set usr1(main, SIGUSR1);
    std::function<void(const std::error_code&, int)> on_usr1 = [&](const std::error_code& ec, int) {
        if (ec) return;
        if (auto r = log::reopen_file(); !r) log::error("log.reopen.failed", {{"error", r.error().message}});
        else log::info("log.reopened", {});
        usr1.async_wait(on_usr1);
    };
    usr1.async_wait(on_usr1);
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < impl_->contexts.size(); ++i)
        threads.emplace_back([ctx = impl_->contexts[i].get()] { ctx->run(); });
    main.run();
    for (auto& t : threads) t.join();
}

void Server::shutdown() {
    impl_->acceptors.clear();
    impl_->guards.clear();
    impl_->contexts.clear();
}

void Server::stop() {
    for (BoundAddress& b : impl_->acceptors) {
        std::error_code ec;
        b.acceptor->close(ec);
    }
    for (auto& ctx : impl_->contexts) ctx->stop();
}

}  // namespace rampart::server
