// queue/scheduler.hpp — the queue manager: which message is tried when, and what happens
// after each attempt. Keeps every queued message (ready, being delivered, waiting for its
// next attempt, held), runs at most `delivery_concurrency` attempts at once, retries with
// exponential backoff (queue/backoff.hpp), bounces recipients that failed finally or whose
// message outlived `max_lifetime`, sends delay and success notices (queue/dsn.hpp), and
// records every state change in the spool so a restart continues where it stopped.
// Two lanes: messages whose pending recipients are all local (the `local` classifier) have
// their own local_delivery_concurrency slots, so local mail never waits behind remote
// attempts (a slow or hostile next hop can hold a remote slot up to delivery.attempt_timeout).
// Reports are committed through Spool::commit as new messages from the null sender and
// delivered like any other; a message from the null sender never causes one.
// Thread-safety: submit() may be called from any thread; everything else, the queue
// tools included, runs on the scheduler's executor.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "config/config.hpp"
#include "queue/dsn.hpp"
#include "queue/envelope.hpp"
#include "util/result.hpp"

namespace rampart::queue {

class Spool;

// What the queue tools see of one message.
struct MessageInfo {
    Envelope envelope;
    std::string state;   // "ready" | "active" | "deferred" | "held" | "quarantined"
};

class Scheduler {
public:
    // `attempt` tries every pending recipient once: sets `done` on delivered ones and
    // `last` on every one it tried (Failed: finally refused; Deferred: try again later).
    using Attempt = std::function<asio::awaitable<void>(Envelope&)>;

    // True if every pending recipient of the message is delivered locally (Maildir, LMTP).
    using LocalClassifier = std::function<bool(const Envelope&)>;

    // Without `local`, every message takes the remote lane.
    Scheduler(asio::any_io_executor ex, Spool& spool, config::QueueSettings settings, std::string hostname,
              Attempt attempt, LocalClassifier local = {});
    ~Scheduler();

    // A newly accepted or recovered message. Held messages wait for release(); others
    // wait until their next_attempt (recovered) or are ready now.
    void submit(Envelope env);

    std::size_t active() const { return lanes_[0].active + lanes_[1].active; }
    // Messages in the queue: ready, active, deferred, held and quarantined (back pressure).
    std::size_t size() const { return entries_.size(); }

    // Messages per (state, destination) as the queue tools name states; destination: the
    // domain of the first pending recipient (the admin listener's rampart_queue_messages).
    std::map<std::pair<std::string, std::string>, std::size_t> counts() const;

    // ---- queue tools (rampart queue ...); Error texts are shown to the operator ----
    std::vector<MessageInfo> list() const;
    std::optional<MessageInfo> find(const std::string& id) const;
    // Makes a deferred message due now. Held or active messages are reported, not changed.
    Result<std::string> retry(const std::string& id);
    std::size_t retry_all();
    asio::awaitable<Result<std::string>> hold(std::string id);
    asio::awaitable<Result<std::string>> release(std::string id);
    // Quarantined messages ([quarantine], `rampart quarantine`): released ones are due now;
    // ones older than max_age are deleted without a report.
    void set_quarantine_max_age(std::chrono::milliseconds age) { quarantine_max_age_ = age; }
    asio::awaitable<Result<std::string>> release_quarantine(std::string id);
    // Removes the message without any report (after the attempt in progress, if any).
    Result<std::string> remove(const std::string& id);
    // Fails every pending recipient now and sends the failure report.
    asio::awaitable<Result<std::string>> bounce(std::string id);

private:
    enum class State { Ready, Active, Waiting };
    struct Entry {
        Envelope env;
        State state = State::Ready;
        bool remove_requested = false;   // asked while active
        bool bounce_requested = false;
        std::string destination;         // its ready queue: domain of the first pending recipient
        int lane = 0;                    // kRemote or kLocal
    };
    static constexpr int kRemote = 0, kLocal = 1;
    // Per-destination ready queues, served round-robin, each with at most
    // destination_concurrency attempts at once: a slow or dead destination cannot take
    // every delivery slot.
    struct Lane {
        std::map<std::string, std::deque<std::string>> ready;
        std::string last_destination;    // round-robin cursor
        std::size_t active = 0;
        std::map<std::string, std::size_t> active_per_destination;
    };

    void enqueue(Envelope env);
    void wait(Entry& e);                 // into the waiting set (unless held) at env.next_attempt
    void make_ready(Entry& e);
    void unschedule(Entry& e);           // out of the ready queue / waiting set
    void pump();
    void kick();                         // the timer loop recomputes its deadline
    asio::awaitable<void> timer_loop();
    void pump(int lane);
    asio::awaitable<void> run_one(std::string id, std::string destination, int lane);
    // Everything after an attempt (or an operator's bounce): records, reports, next step.
    asio::awaitable<void> conclude(std::string id, std::vector<bool> done_before);
    // Commits one report to env.sender for `rcpts`; false if the spool refused it.
    asio::awaitable<bool> send_report(const Envelope& env, std::vector<DsnRecipient> rcpts, std::int64_t now_ms);
    void erase(const std::string& id, std::string_view reason);

    asio::any_io_executor ex_;
    Spool& spool_;
    config::QueueSettings settings_;
    std::string hostname_;
    Attempt attempt_;
    LocalClassifier local_;
    std::map<std::string, Entry> entries_;
    Lane lanes_[2];
    std::set<std::pair<std::int64_t, std::string>> waiting_;   // (next attempt, unix ms; id)
    std::function<void()> cancel_timer_;   // wakes the timer loop (its timer lives in its frame)
    std::size_t active_ = 0;
    std::chrono::milliseconds quarantine_max_age_{std::chrono::hours(24 * 30)};
};

}  // namespace rampart::queue
