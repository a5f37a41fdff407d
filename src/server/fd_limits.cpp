// server/fd_limits.cpp — see the header. The plan is arithmetic on the configuration; the
// gate and the back-off only count, so both are cheap on every accept.
#include "server/fd_limits.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "admin/http_server.hpp"
#include "util/log.hpp"

namespace rampart::server {

DescriptorLimit prepare_process() {
    // Writes to a closed pipe or socket fail with EPIPE instead of ending the process
    // (the log on a pipe whose reader went away used to kill the server).
    std::signal(SIGPIPE, SIG_IGN);
    DescriptorLimit out;
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        out.error = std::string("getrlimit: ") + std::strerror(errno);
        return out;
    }
    out.before = out.limit = rl.rlim_cur;
    out.hard = rl.rlim_max;
    if (rl.rlim_cur < rl.rlim_max) {
        rlimit raised = rl;
        raised.rlim_cur = rl.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            out.limit = raised.rlim_cur;
        } else {
            // An unlimited hard limit cannot be the soft one: the kernel caps it at nr_open.
            out.error = std::string("setrlimit: ") + std::strerror(errno);
            for (rlim_t try_limit : {rlim_t{1} << 20, rlim_t{65536}}) {
                raised.rlim_cur = std::min<rlim_t>(try_limit, rl.rlim_max);
                if (raised.rlim_cur > rl.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
                    out.limit = raised.rlim_cur;
                    out.error.clear();
                    break;
                }
            }
        }
    }
    return out;
}

void apply_max_open_files(std::uint64_t wanted, DescriptorLimit& limit) {
    if (wanted == 0) return;
    std::uint64_t target = wanted;
    if (std::FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
        unsigned long long nr_open = 0;
        if (std::fscanf(f, "%llu", &nr_open) == 1 && nr_open > 0) target = std::min<std::uint64_t>(target, nr_open);
        std::fclose(f);
    }
    rlimit rl{static_cast<rlim_t>(target), static_cast<rlim_t>(target)};
    if (::setrlimit(RLIMIT_NOFILE, &rl) == 0) {
        limit.limit = limit.hard = target;
        limit.error.clear();
        return;
    }
    int e = errno;
    limit.error = "setrlimit to server.max_open_files = " + std::to_string(target) + ": " + std::strerror(e) +
                  (e == EPERM ? " (raising the hard limit needs root or CAP_SYS_RESOURCE)" : "");
}

DescriptorPlan plan_descriptors(const config::Config& cfg, std::uint64_t limit, std::uint64_t in_use, std::size_t threads) {
    DescriptorPlan p;
    p.limit = limit;
    p.in_use = in_use;
    p.reserve = kReserveFixed + kReservePerThread * std::max<std::size_t>(threads, 1);
    if (cfg.admin.bind) p.reserve += admin::HttpServer::kMaxConnections + 1;   // the admin listener: connections, socket
    p.per_session = kDescriptorsPerSession + cfg.milters.size();
    std::uint64_t engines = cfg.antivirus.engines.size() +
                            (cfg.content_filter.configured && cfg.content_filter.engine != config::ContentEngine::None ? 1 : 0);
    p.per_commit = kDescriptorsPerCommit + engines;
    std::uint64_t connections = 0;
    std::string per_listener;
    for (const config::Listener& l : cfg.listeners) {
        connections += l.limits.max_connections;
        per_listener += (per_listener.empty() ? "" : ", ") + std::to_string(l.limits.max_connections) + " on \"" + l.name + "\"";
    }
    std::uint64_t concurrency = cfg.queue.delivery_concurrency;
    std::uint64_t delivery = kDescriptorsPerDelivery * concurrency;
    // Local attempts run on top of delivery_concurrency (a Maildir or LMTP file and the
    // spool file each); they are few and are not lowered, so they count as fixed.
    std::uint64_t local = kDescriptorsPerDelivery * cfg.queue.local_delivery_concurrency;
    std::uint64_t brief = p.per_commit * kCommitLeases + kDnsSockets;
    p.wanted = in_use + p.reserve + local + delivery + brief + p.per_session * connections;
    std::uint64_t fixed = in_use + p.reserve + local;
    std::uint64_t available = limit > fixed ? limit - fixed : 0;
    constexpr std::uint64_t kMax32 = std::numeric_limits<std::uint32_t>::max();
    if (p.wanted <= limit) {
        p.delivery_concurrency = static_cast<std::uint32_t>(concurrency);
        p.commit_leases = static_cast<std::uint32_t>(kCommitLeases);
        p.dns_sockets = static_cast<std::uint32_t>(kDnsSockets);
        p.sessions = static_cast<std::uint32_t>(std::min(kMax32, (available - delivery - brief) / p.per_session));
        return p;
    }
    // Short: the brief budgets get about an eighth and a sixteenth of what is left, delivery
    // at most half of the rest, sessions the remainder; each at least one, so the server
    // still works (slowly) rather than not at all.
    p.commit_leases = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(available / 8 / p.per_commit, 1, kCommitLeases));
    p.dns_sockets = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(available / 16, 1, kDnsSockets));
    std::uint64_t after_brief = available - std::min(available, p.commit_budget() + p.dns_sockets);
    std::uint64_t delivery_share = std::min(delivery, after_brief / 2);
    p.delivery_concurrency = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(delivery_share / kDescriptorsPerDelivery, 1, concurrency));
    std::uint64_t for_sessions = after_brief - std::min(after_brief, p.delivery_concurrency * kDescriptorsPerDelivery);
    p.sessions = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(for_sessions / p.per_session, 1, std::min(connections, kMax32)));
    p.advice = "listeners[].limits.max_connections (" + per_listener + ") and queue.delivery_concurrency (" +
               std::to_string(concurrency) + ") want about " + std::to_string(p.wanted) + " descriptors, the limit is " +
               std::to_string(limit) + ": " + std::to_string(p.sessions) + " sessions are admitted at once (the others wait)" +
               (p.delivery_concurrency < concurrency ? " and " + std::to_string(p.delivery_concurrency) + " messages are delivered at once" : "") +
               "; lower max_connections and delivery_concurrency, or raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) to at least " +
               std::to_string(p.wanted);
    return p;
}

std::uint64_t open_descriptors() {
    std::error_code ec;
    std::uint64_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
    return ec || n == 0 ? 0 : n - 1;   // the iterator's own descriptor is listed too
}

DescriptorPlan plan_and_log(const config::Config& cfg, const DescriptorLimit& limit, std::size_t threads) {
    std::uint64_t open_now = open_descriptors();
    if (open_now == 0) open_now = 16;   // no /proc: a typical start-up count
    std::uint64_t about_to_open = 1;    // the control socket
    for (const config::Listener& l : cfg.listeners) about_to_open += l.bind.size();
    DescriptorPlan p = plan_descriptors(cfg, limit.limit, open_now + about_to_open, threads);
    if (!limit.error.empty())
        log::warn("server.descriptors.unraised", {{"limit", limit.limit}, {"hard", limit.hard}, {"error", limit.error}});
    log::info("server.descriptors", {{"limit", p.limit}, {"raised_from", limit.before}, {"in_use", p.in_use}, {"reserve", p.reserve},
                                     {"sessions", p.sessions}, {"per_session", p.per_session}, {"commit_leases", p.commit_leases},
                                     {"per_commit", p.per_commit}, {"dns_sockets", p.dns_sockets},
                                     {"delivery_concurrency", p.delivery_concurrency}});
    if (!p.advice.empty()) log::warn("server.descriptors.short", {{"limit", p.limit}, {"wanted", p.wanted}, {"advice", p.advice}});
    return p;
}

SessionGate::SessionGate(asio::any_io_executor acceptors, std::uint32_t capacity) : ex_(std::move(acceptors)), capacity_(capacity) {}

SessionGate::~SessionGate() = default;

asio::awaitable<void> SessionGate::wait_for_room() {
    if (count_.load() < capacity_.load()) co_return;
    // Full: one log line a minute at most, counting the waits in between.
    ++full_since_log_;
    auto now = std::chrono::steady_clock::now();
    if (last_log_ == std::chrono::steady_clock::time_point{} || now - last_log_ >= std::chrono::minutes(1)) {
        log::warn("net.sessions.full", {{"sessions", count_.load()}, {"capacity", capacity_.load()}, {"times", full_since_log_},
                                        {"action", "new connections wait in the listen queue"}});
        last_log_ = now;
        full_since_log_ = 0;
    }
    while (count_.load() >= capacity_.load()) {
        asio::steady_timer wake(ex_, std::chrono::seconds(1));   // leave() cancels it sooner
        waiters_.push_back(&wake);
        std::error_code ec;
        co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        std::erase(waiters_, &wake);
    }
}

void SessionGate::leave() {
    if (count_.fetch_sub(1) < capacity_.load()) return;   // was not full: nobody waits
    asio::post(ex_, [this] {
        for (asio::steady_timer* t : waiters_) t->cancel();
    });
}

}  // namespace rampart::server
