// queue/scheduler.cpp — ready queue, concurrency bound, backoff timer, final results,
// reports and the queue tools' operations.
#include "queue/scheduler.hpp"

#include <algorithm>
#include <chrono>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/system_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "queue/backoff.hpp"
#include "queue/spool.hpp"
#include "queue/spool_format.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace rampart::queue {
namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string join_indices(const Envelope& env, const std::vector<DsnRecipient>& rs) {
    std::string out;
    for (const DsnRecipient& r : rs) out += (out.empty() ? "" : ",") + env.recipients[r.index].address;
    return out;
}

std::string destination_of(const Envelope& env) {
    for (const Recipient& r : env.recipients) {
        if (r.done) continue;
        std::size_t at = r.address.rfind('@');
        return at == std::string::npos ? std::string() : util::ascii_lower(std::string_view(r.address).substr(at + 1));
    }
    return {};
}

// Why no report goes to env.sender, or "". A sender whose domain is an address literal
// (x@[192.0.2.1]) names the host we would connect to; from a client that did not
// authenticate, that would let anyone make this server connect wherever they like (and
// carry a report there), so such messages get no reports at all. Messages spooled
// before the principal was recorded count as anonymous.
std::string report_refused(const Envelope& env) {
    std::size_t at = env.sender.rfind('@');
    bool literal = at != std::string::npos && at + 1 < env.sender.size() && env.sender[at + 1] == '[';
    bool anonymous = env.principal.empty() || env.principal == "anonymous";
    if (literal && anonymous) return "address literal sender from an anonymous session";
    return {};
}

bool has_pending(const Envelope& env) {
    for (const Recipient& r : env.recipients)
        if (!r.done) return true;
    return false;
}

}  // namespace

Scheduler::Scheduler(asio::any_io_executor ex, Spool& spool, config::QueueSettings settings, std::string hostname,
                     Attempt attempt, LocalClassifier local)
    : ex_(std::move(ex)), spool_(spool), settings_(settings), hostname_(std::move(hostname)), attempt_(std::move(attempt)),
      local_(std::move(local)) {
    asio::co_spawn(ex_, timer_loop(), asio::detached);
}

Scheduler::~Scheduler() = default;

void Scheduler::submit(Envelope env) {
    asio::post(ex_, [this, env = std::move(env)]() mutable { enqueue(std::move(env)); });
}

void Scheduler::enqueue(Envelope env) {
    std::string id = env.id;
    auto [it, fresh] = entries_.try_emplace(id);
    if (!fresh) {
        log::error("queue.duplicate", {{"qid", id}});
        return;
    }
    it->second.env = std::move(env);
    Entry& e = it->second;
    // Only a report owed (recovered after a crash): send it now, held or not.
    if (has_pending(e.env) && (e.env.held || e.env.next_attempt > now_ms())) wait(e);
    else make_ready(e);
}

void Scheduler::wait(Entry& e) {
    e.state = State::Waiting;
    if (!e.env.quarantine.empty()) {
        // Waits for release, or for its expiry at received + max_age.
        e.env.next_attempt = e.env.received_at * 1000 + quarantine_max_age_.count();
    } else if (e.env.held) {
        return;
    }
    bool earliest = waiting_.empty() || e.env.next_attempt < waiting_.begin()->first;
    waiting_.emplace(e.env.next_attempt, e.env.id);
    if (earliest) kick();
}

void Scheduler::make_ready(Entry& e) {
    e.state = State::Ready;
    e.destination = destination_of(e.env);
    e.lane = local_ && local_(e.env) ? kLocal : kRemote;
    lanes_[e.lane].ready[e.destination].push_back(e.env.id);
    pump(e.lane);
}

void Scheduler::unschedule(Entry& e) {
    if (e.state == State::Ready) {
        auto& ready = lanes_[e.lane].ready;
        auto q = ready.find(e.destination);
        if (q != ready.end()) {
            std::erase(q->second, e.env.id);
            if (q->second.empty()) ready.erase(q);
        }
    }
    if (e.state == State::Waiting) waiting_.erase({e.env.next_attempt, e.env.id});
}

void Scheduler::kick() {
    if (cancel_timer_) cancel_timer_();
}

void Scheduler::pump() {
    pump(kLocal);
    pump(kRemote);
}

void Scheduler::pump(int lane) {
    Lane& l = lanes_[lane];
    auto& ready = l.ready;
    std::size_t limit = lane == kLocal ? settings_.local_delivery_concurrency : settings_.delivery_concurrency;
    bool progress = true;
    while (progress && l.active < limit && !ready.empty()) {
        progress = false;
        // One round over the destinations, starting after the one served last.
        std::vector<std::string> order;
        for (auto it = ready.upper_bound(l.last_destination); it != ready.end(); ++it) order.push_back(it->first);
        for (auto it = ready.begin(); it != ready.end() && it->first <= l.last_destination; ++it) order.push_back(it->first);
        for (const std::string& dest : order) {
            if (l.active >= limit) break;
            if (auto a = l.active_per_destination.find(dest);
                a != l.active_per_destination.end() && a->second >= settings_.destination_concurrency)
                continue;
            auto q = ready.find(dest);
            std::string id = std::move(q->second.front());
            q->second.pop_front();
            if (q->second.empty()) ready.erase(q);
            progress = true;
            auto it = entries_.find(id);
            if (it == entries_.end() || it->second.state != State::Ready) continue;
            it->second.state = State::Active;
            ++l.active;
            ++l.active_per_destination[dest];
            l.last_destination = dest;
            asio::co_spawn(ex_, run_one(std::move(id), dest, lane), asio::detached);
        }
    }
}

asio::awaitable<void> Scheduler::timer_loop() {
    asio::system_timer timer(ex_);
    cancel_timer_ = [&timer] { timer.cancel(); };
    while (true) {
        std::int64_t now = now_ms();
        while (!waiting_.empty() && waiting_.begin()->first <= now) {
            std::string id = waiting_.begin()->second;
            waiting_.erase(waiting_.begin());
            auto it = entries_.find(id);
            if (it == entries_.end()) continue;
            if (!it->second.env.quarantine.empty()) {
                it->second.state = State::Ready;   // not in any set now
                erase(id, "quarantine expired (quarantine.max_age)");
                continue;
            }
            log::info("queue.retry", {{"qid", id}, {"attempt", it->second.env.attempts + 1}});
            make_ready(it->second);
        }
        pump();
        if (waiting_.empty()) timer.expires_at(asio::system_timer::time_point::max());
        else timer.expires_at(asio::system_timer::time_point(std::chrono::milliseconds(waiting_.begin()->first)));
        std::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<void> Scheduler::run_one(std::string id, std::string destination, int lane) {
    std::vector<bool> before;
    {
        Entry& e = entries_.at(id);
        for (const Recipient& r : e.env.recipients) before.push_back(r.done);
        try {
            // Map nodes are stable: the entry is not erased while active.
            co_await attempt_(e.env);
        } catch (const std::exception& ex) {
            log::error("delivery.exception", {{"qid", id}, {"error", ex.what()}});
        }
    }
    co_await conclude(id, std::move(before));
    Lane& l = lanes_[lane];
    --l.active;
    if (--l.active_per_destination[destination] == 0) l.active_per_destination.erase(destination);
    pump();
}

asio::awaitable<void> Scheduler::conclude(std::string id, std::vector<bool> before) {
    Entry& e = entries_.at(id);
    Envelope& env = e.env;
    std::int64_t now = now_ms();
    bool bouncing = e.bounce_requested;   // an operator's bounce may arrive while reports are sent
    std::vector<std::size_t> delivered;
    std::string records;
    bool expire = !bouncing && has_pending(env) && expired(settings_, env.received_at, now);
    for (std::size_t i = 0; i < env.recipients.size(); ++i) {
        Recipient& r = env.recipients[i];
        if (r.done && !before[i]) {
            records += encode_done(i);
            delivered.push_back(i);
            continue;
        }
        if (r.done) continue;
        if (r.last.outcome != Outcome::Failed) {
            if (bouncing) {
                r.last = AttemptResult{Outcome::Failed, 0, "5.0.0", "delivery cancelled by the postmaster", r.last.remote};
            } else if (expire) {
                std::string last = r.last.code ? std::to_string(r.last.code) + " " + r.last.status + " " + r.last.diagnostic
                                                : r.last.diagnostic;
                r.last = AttemptResult{Outcome::Failed, 0, "5.4.7",
                                       "delivery time expired after " + std::to_string(env.attempts + 1) + " attempts" +
                                           (last.empty() ? "" : "; last error: " + last),
                                       r.last.remote};
            } else {
                continue;
            }
        }
        r.done = true;
        records += encode_failed(i, r.last);
        env.dsn_pending.push_back(i);
        log::info("queue.failed", {{"qid", id}, {"rcpt", r.address}, {"status", r.last.status}, {"reason", r.last.diagnostic}});
    }
    bool warn = has_pending(env) && !env.delay_warned && delay_warning_due(settings_, env.received_at, now);
    if (warn) {
        env.delay_warned = true;
        records += kWarnedRecord;
    }
    if (has_pending(env)) {
        ++env.attempts;
        env.next_attempt = next_attempt_ms(settings_, env.received_at, env.attempts, now);
        records += encode_attempt(env.attempts, env.next_attempt);
    }
    // A message finished by this attempt is removed below: its records need no flush.
    if (!records.empty() && !e.remove_requested && !finished(env)) {
        auto w = co_await spool_.append(id, std::move(records));
        if (!w) log::error("spool.append.failed", {{"qid", id}, {"error", w.error().message}});
    }
    if (e.remove_requested) {
        erase(id, "deleted by the postmaster");
        co_return;
    }
    // Reports. Success notices are best effort: a crash right after the "done" record
    // can lose one. Failure reports are at-least-once ("notified" follows the commit).
    if (!delivered.empty()) co_await send_report(env, success_notices(env, delivered), now);
    if (!env.dsn_pending.empty()) {
        std::vector<DsnRecipient> report;
        for (std::size_t i : env.dsn_pending) report.push_back({i, DsnAction::Failed, env.recipients[i].last});
        if (co_await send_report(env, report, now)) {
            std::string notified;
            for (std::size_t i : env.dsn_pending) notified += encode_notified(i);
            env.dsn_pending.clear();
            auto w = co_await spool_.append(id, std::move(notified));
            if (!w) log::error("spool.append.failed", {{"qid", id}, {"error", w.error().message}});
        }
    }
    if (warn) {
        std::vector<DsnRecipient> report;
        for (std::size_t i = 0; i < env.recipients.size(); ++i)
            if (!env.recipients[i].done) report.push_back({i, DsnAction::Delayed, env.recipients[i].last});
        co_await send_report(env, std::move(report), now);
    }
    if (finished(env)) {
        erase(id, "all recipients done");
        co_return;
    }
    if (!env.dsn_pending.empty() && !has_pending(env)) {
        // Only the report is left and the spool refused it: try again later.
        env.next_attempt = now + settings_.retry_interval.count();
    }
    if (e.remove_requested) {   // asked while the reports were being sent
        erase(id, "deleted by the postmaster");
        co_return;
    }
    if (e.bounce_requested && !bouncing) {
        make_ready(e);            // the next round bounces it
        co_return;
    }
    e.bounce_requested = false;
    wait(e);
    log::info("queue.deferred", {{"qid", id}, {"attempts", env.attempts}, {"held", env.held ? "yes" : "no"},
                                 {"next_attempt_in_s", std::max<std::int64_t>(0, (env.next_attempt - now) / 1000)}});
}

asio::awaitable<bool> Scheduler::send_report(const Envelope& env, std::vector<DsnRecipient> rcpts, std::int64_t now) {
    std::string_view kind = rcpts.empty() ? "failed" : action_name(rcpts.front().action);
    if (kind == "relayed" || kind == "expanded") kind = "delivered";
    std::erase_if(rcpts, [&env](const DsnRecipient& r) { return !wants_dsn(env.recipients[r.index].notify, r.action); });
    if (rcpts.empty()) co_return true;
    if (env.sender.empty()) {
        // RFC 5321 §4.5.5, RFC 3461 §6.2: never report on a report (or any null-sender message).
        log::info("dsn.suppressed", {{"qid", env.id}, {"kind", kind}, {"rcpts", join_indices(env, rcpts)},
                                     {"reason", "null sender"}});
        co_return true;
    }
    if (std::string why = report_refused(env); !why.empty()) {
        log::info("dsn.suppressed", {{"qid", env.id}, {"kind", kind}, {"rcpts", join_indices(env, rcpts)}, {"reason", why}});
        co_return true;
    }
    auto message = spool_.read_message(env.id);
    if (!message) {
        log::error("dsn.failed", {{"qid", env.id}, {"kind", kind}, {"error", message.error().message}});
        co_return false;
    }
    DsnRequest req;
    req.reporting_mta = hostname_;
    req.recipients = rcpts;
    req.now = now / 1000;
    req.will_retry_until = expiry_ms(settings_, env.received_at) / 1000;
    req.unique = new_queue_id();
    Dsn dsn = build_dsn(req, env, *message);
    Envelope out;
    out.received_at = now / 1000;
    out.listener = "dsn";
    out.client = "127.0.0.1";
    out.helo = hostname_;
    out.sender = "";
    out.body = dsn.eight_bit ? smtp::Body::EightBitMime : smtp::Body::Unspecified;
    out.smtputf8 = dsn.eight_bit && env.smtputf8;
    out.recipients.push_back(Recipient{env.sender, 0, "", false, {}, {}});
    auto id = co_await spool_.commit(out, "", dsn.text);
    if (!id) {
        log::error("dsn.failed", {{"qid", env.id}, {"kind", kind}, {"error", id.error().message}});
        co_return false;
    }
    out.id = *id;
    out.size = dsn.text.size();
    log::info("dsn.queued", {{"qid", env.id}, {"dsn_qid", *id}, {"kind", kind}, {"to", env.sender},
                             {"rcpts", join_indices(env, rcpts)}});
    enqueue(std::move(out));
    co_return true;
}

void Scheduler::erase(const std::string& id, std::string_view reason) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    unschedule(it->second);
    spool_.remove(id);
    entries_.erase(it);
    log::info("queue.removed", {{"qid", id}, {"reason", reason}});
}

// ---- queue tools ----

namespace {
std::string_view state_name(const Envelope& env, int state) {
    if (!env.quarantine.empty() && state != 1) return "quarantined";
    if (env.held && state != 1) return "held";
    return state == 0 ? "ready" : state == 1 ? "active" : "deferred";
}
}  // namespace

std::vector<MessageInfo> Scheduler::list() const {
    std::vector<MessageInfo> out;
    for (const auto& [id, e] : entries_)
        out.push_back({e.env, std::string(state_name(e.env, static_cast<int>(e.state)))});
    return out;
}

std::map<std::pair<std::string, std::string>, std::size_t> Scheduler::counts() const {
    std::map<std::pair<std::string, std::string>, std::size_t> out;
    for (const auto& [id, e] : entries_) ++out[{std::string(state_name(e.env, static_cast<int>(e.state))), e.destination}];
    return out;
}

std::optional<MessageInfo> Scheduler::find(const std::string& id) const {
    auto it = entries_.find(id);
    if (it == entries_.end()) return std::nullopt;
    return MessageInfo{it->second.env, std::string(state_name(it->second.env, static_cast<int>(it->second.state)))};
}

Result<std::string> Scheduler::retry(const std::string& id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return Error{0, "no message " + id + " in the queue"};
    Entry& e = it->second;
    if (e.env.held) return Error{0, id + " is held: release it first"};
    if (e.state == State::Active) return std::string(id + " is being delivered now");
    if (e.state == State::Ready) return std::string(id + " is already due");
    unschedule(e);
    e.env.next_attempt = 0;
    log::info("queue.retry.requested", {{"qid", id}});
    make_ready(e);
    return std::string(id + " is due now");
}

std::size_t Scheduler::retry_all() {
    std::vector<std::string> ids;
    for (const auto& [at, id] : waiting_) ids.push_back(id);
    for (const std::string& id : ids) (void)retry(id);
    return ids.size();
}

asio::awaitable<Result<std::string>> Scheduler::hold(std::string id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) co_return Error{0, "no message " + id + " in the queue"};
    if (it->second.env.held) co_return std::string(id + " is already held");
    auto w = co_await spool_.append(id, std::string(kHoldRecord));
    if (!w) co_return Error{0, "could not record the hold: " + w.error().message};
    it = entries_.find(id);
    if (it == entries_.end()) co_return Error{0, id + " left the queue meanwhile"};
    Entry& e = it->second;
    unschedule(e);
    e.env.held = true;
    if (e.state != State::Active) e.state = State::Waiting;
    log::info("queue.held", {{"qid", id}});
    co_return std::string(id + " is held") + (e.state == State::Active ? " after the attempt in progress" : "");
}

asio::awaitable<Result<std::string>> Scheduler::release(std::string id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) co_return Error{0, "no message " + id + " in the queue"};
    if (!it->second.env.held) co_return std::string(id + " is not held");
    if (!it->second.env.quarantine.empty())
        co_return Error{0, id + " is quarantined: release it with `rampart quarantine release " + id + "`"};
    auto w = co_await spool_.append(id, std::string(kReleaseRecord));
    if (!w) co_return Error{0, "could not record the release: " + w.error().message};
    it = entries_.find(id);
    if (it == entries_.end()) co_return Error{0, id + " left the queue meanwhile"};
    Entry& e = it->second;
    e.env.held = false;
    log::info("queue.released", {{"qid", id}});
    if (e.state == State::Waiting) {
        e.env.next_attempt = 0;
        make_ready(e);
    }
    co_return std::string(id + " is released and due now");
}

asio::awaitable<Result<std::string>> Scheduler::release_quarantine(std::string id) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.env.quarantine.empty()) co_return Error{0, "no quarantined message " + id};
    auto w = co_await spool_.append(id, std::string(kQuarantineReleaseRecord));
    if (!w) co_return Error{0, "could not record the release: " + w.error().message};
    it = entries_.find(id);
    if (it == entries_.end()) co_return Error{0, id + " left the quarantine meanwhile"};
    Entry& e = it->second;
    unschedule(e);
    e.env.quarantine.clear();
    e.env.held = false;
    e.env.next_attempt = 0;
    log::info("quarantine.released", {{"qid", id}});
    if (e.state != State::Active) make_ready(e);
    co_return std::string(id + " is released from quarantine and due now");
}

Result<std::string> Scheduler::remove(const std::string& id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return Error{0, "no message " + id + " in the queue"};
    if (it->second.state == State::Active) {
        it->second.remove_requested = true;
        return std::string(id + " will be deleted when the attempt in progress ends");
    }
    erase(id, "deleted by the postmaster");
    return std::string(id + " deleted");
}

asio::awaitable<Result<std::string>> Scheduler::bounce(std::string id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) co_return Error{0, "no message " + id + " in the queue"};
    Entry& e = it->second;
    e.bounce_requested = true;
    if (e.state == State::Active) co_return std::string(id + " will bounce when the attempt in progress ends");
    unschedule(e);
    e.state = State::Active;   // nobody else touches it while it concludes
    std::vector<bool> before;
    for (const Recipient& r : e.env.recipients) before.push_back(r.done);
    co_await conclude(id, std::move(before));
    co_return std::string(id + " bounced");
}

}  // namespace rampart::queue
