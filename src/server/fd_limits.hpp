// server/fd_limits.hpp — descriptors and signals for a serving process: the open-file limit
// raised and shared out at start, the gate that stops accepting while the server is full,
// and the back-off when accept(2) fails for lack of descriptors.
// Trust: sees only the configuration and the process's own limits.
// Contract: sessions admitted at once (one descriptor each: the socket) stay within what
// the limit leaves after a reserve (LDAP, control, the I/O reactors), delivery and two
// bounded budgets for brief use (commit leases for the incoming and spool files and engine
// connections; DNS sockets), so a transaction past DATA either gets its descriptors or,
// after a bounded wait, 451 4.3.2 — never a 452 for want of one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "config/config.hpp"

namespace rampart::server {

struct DescriptorLimit {
    std::uint64_t before = 0;   // soft RLIMIT_NOFILE as the process started
    std::uint64_t limit = 0;    // soft limit now (the hard limit unless raising failed)
    std::uint64_t hard = 0;
    std::string error;          // why raising failed, if it did
};

// Call once at the start of `serve`, before anything else opens descriptors: ignores
// SIGPIPE (a closed log pipe or peer then yields EPIPE instead of killing the server) and
// raises the soft open-file limit to the hard one.
DescriptorLimit prepare_process();

// server.max_open_files: when `wanted` is not 0, sets the soft and hard open-file limits
// to it (capped at /proc/sys/fs/nr_open). Raising the hard limit needs root or
// CAP_SYS_RESOURCE; on failure `limit` keeps what it was and `error` says why (logged as
// server.descriptors.unraised). Call after prepare_process(), before plan_and_log().
void apply_max_open_files(std::uint64_t wanted, DescriptorLimit& limit);

// How the limit is shared out (docs/architecture.md "Descriptors"). A session holds its
// socket (and one connection per milter) for its whole life; the descriptors a session
// or a look-up needs only briefly come from two bounded budgets it waits for
// (net/descriptor_budget.hpp): `commit_leases` leases of `per_commit` descriptors each
// (the incoming file once a message outgrows its buffer, the spool file at commit, a
// connection per content/antivirus engine at end of data), and `dns_sockets` for DNS
// queries in flight. So an idle connection costs one descriptor, not two.
struct DescriptorPlan {
    std::uint64_t limit = 0;
    std::uint64_t in_use = 0;             // open when planned (log, spool, listeners, ...)
    std::uint64_t reserve = 0;            // kept for reactors, LDAP, control clients, log reopen, the admin listener
    std::uint64_t wanted = 0;             // what the configuration can use at full load
    std::uint32_t sessions = 0;           // SMTP sessions admitted at once, all listeners
    std::uint32_t delivery_concurrency = 0;   // queue.delivery_concurrency, lowered if needed
    std::uint64_t per_session = 0;        // descriptors a session holds while it lives
    std::uint64_t per_commit = 0;         // descriptors in one commit lease
    std::uint32_t commit_leases = 0;      // transactions past DATA holding a lease at once
    std::uint32_t dns_sockets = 0;        // DNS queries in flight at once
    std::string advice;                   // empty if the configuration fits

    std::uint64_t commit_budget() const { return per_commit * commit_leases; }
};

inline constexpr std::uint64_t kDescriptorsPerSession = 1;    // the socket (+1 per milter)
inline constexpr std::uint64_t kDescriptorsPerCommit = 2;     // incoming file + spool file (+1 per engine)
inline constexpr std::uint64_t kCommitLeases = 64;            // at full size; the group commit batches them
inline constexpr std::uint64_t kDnsSockets = 32;              // at full size; queries are shared and cached
inline constexpr std::uint64_t kDescriptorsPerDelivery = 2;   // connection + spool/Maildir file
// Local submissions on submit.sock (up to 64) come out of this fixed reserve too; they are
// not counted one by one, so a burst of them at a short limit can still meet EMFILE there.
// (The admin listener is counted: its socket and kMaxConnections, when [admin] bind is set.)
inline constexpr std::uint64_t kReserveFixed = 16;            // LDAP, control, log reopen, transient
inline constexpr std::uint64_t kReservePerThread = 3;         // epoll, eventfd, timerfd

// Pure: the plan for `limit` descriptors of which `in_use` are open already.
DescriptorPlan plan_descriptors(const config::Config& cfg, std::uint64_t limit, std::uint64_t in_use, std::size_t threads);
// Descriptors open in this process now (/proc/self/fd), 0 if unknown.
std::uint64_t open_descriptors();
// The plan for this process — its limit, the descriptors open now plus the listening
// sockets and control socket still to come (call it before binding) — logged as
// `server.descriptors`, and `server.descriptors.short` with advice when it does not fit.
DescriptorPlan plan_and_log(const config::Config& cfg, const DescriptorLimit& limit, std::size_t threads);

// The admission gate for sessions across all listeners. Acceptors wait for room before
// accepting, so connections beyond capacity stay in the kernel's listen queue (the client
// waits for its greeting) instead of taking descriptors the running sessions need.
// enter() may overshoot by one per other acceptor that was already waiting in accept.
class SessionGate {
public:
    // `acceptors`: the executor every acceptor runs on (wait_for_room and enter there).
    SessionGate(asio::any_io_executor acceptors, std::uint32_t capacity);
    ~SessionGate();
    void set_capacity(std::uint32_t capacity) { capacity_ = capacity; }
    std::uint32_t capacity() const { return capacity_; }
    asio::awaitable<void> wait_for_room();
    void enter() { ++count_; }
    void leave();   // any thread

private:
    asio::any_io_executor ex_;
    std::atomic<std::uint32_t> capacity_;
    std::atomic<std::uint32_t> count_{0};
    std::vector<asio::steady_timer*> waiters_;   // acceptors' executor only
    std::chrono::steady_clock::time_point last_log_{};
    std::uint64_t full_since_log_ = 0;
};

}  // namespace rampart::server
