// tracking/recorder.cpp — see recorder.hpp.
#include "tracking/recorder.hpp"

#include <malloc.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <charconv>
#include <iterator>

#include "util/metric_catalog.hpp"

namespace rampart::tracking {
namespace {

constexpr std::array<std::string_view, 11> kTracked = {
    "smtp.connection.refused", "smtp.mail.refused", "smtp.rcpt.refused", "smtp.transaction", "filter.verdict",
    "quarantine.added", "quarantine.released", "delivery.attempt", "queue.failed", "dsn.queued", "dsn.suppressed"};

constexpr std::size_t kBatch = 5000;   // events per store transaction at most

template <class N>
N number(const std::string& s) {
    N v{};
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

}  // namespace

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<Event> to_event(std::string_view name, std::initializer_list<log::Field> fields, std::int64_t now) {
    if (std::find(kTracked.begin(), kTracked.end(), name) == kTracked.end()) return std::nullopt;
    Event e;
    e.ts_ms = now;
    e.event = std::string(name);
    for (const log::Field& f : fields) {
        const std::string& v = f.value;
        if (v == "-") continue;   // the log's "none"
        const std::string_view k = f.key;
        if (k == "tracking_id") e.tracking_id = v;
        else if (k == "qid") e.qid = v;
        else if (k == "listener") e.listener = v;
        else if (k == "client") e.client = v;
        else if (k == "principal") e.principal = v;
        else if (k == "from") e.sender = v;
        else if (k == "rcpts" || k == "to" || k == "rcpt") e.rcpts = v;
        else if (k == "agent") e.agent = v;
        else if (k == "stage") e.stage = v;
        else if (k == "rule") e.rule = v;
        else if (k == "result" || k == "verdict" || k == "kind") e.result = v;
        else if (k == "code") e.code = number<int>(v);
        else if (k == "status") e.status = v;
        else if (k == "reason") e.reason = v;
        else if (k == "relay") e.relay = v;
        else if (k == "size") e.size = number<std::uint64_t>(v);
        else if (k == "dsn_qid") e.extra = v;
    }
    if (e.event == "filter.verdict" && e.result == "continue") return std::nullopt;
    if (e.tracking_id.empty() && e.qid.empty()) return std::nullopt;   // nothing to file it under
    return e;
}

Result<std::unique_ptr<Recorder>> Recorder::start(const std::filesystem::path& file, RecorderSettings settings) {
    auto store = Store::open(file, true);
    if (!store) return store.error();
    if (auto r = store->rotate(now_ms(), settings.max_age_ms, settings.max_size); !r) return r.error();
    if (auto r = store->leave_checkpoints_to_another(); !r) return r.error();
    auto checkpoint_store = Store::open(file, false);
    if (!checkpoint_store) return checkpoint_store.error();
    return std::unique_ptr<Recorder>(new Recorder(std::move(*store), std::move(*checkpoint_store), settings));
}

Recorder::Recorder(Store store, Store checkpoint_store, RecorderSettings settings)
    : store_(std::move(store)), settings_(settings), checkpoint_store_(std::move(checkpoint_store)) {
    queue_.reserve(2 * kWakeAt);
    thread_ = std::thread([this] { run(); });
    checkpointer_ = std::thread([this] { run_checkpoints(); });
}

Recorder::~Recorder() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
    {
        std::lock_guard lock(checkpoint_mutex_);
        checkpoint_stop_ = true;
    }
    checkpoint_wake_.notify_one();
    checkpointer_.join();
    // The writer's connection, closed last, checkpoints what is left (SQLite does that
    // when the last connection to a WAL database closes).
}

void Recorder::run_checkpoints() {
    std::unique_lock lock(checkpoint_mutex_);
    while (true) {
        checkpoint_wake_.wait(lock, [&] { return checkpoint_stop_ || checkpoint_due_; });
        if (checkpoint_stop_) return;
        checkpoint_due_ = false;
        lock.unlock();
        if (auto r = checkpoint_store_.checkpoint(); !r) log::error("tracking.checkpoint.failed", {{"error", r.error().message}});
        ++checkpoints_;
        lock.lock();
        // At most one every kCheckpointEvery: a stop still ends the wait at once.
        checkpoint_wake_.wait_for(lock, kCheckpointEvery, [&] { return checkpoint_stop_; });
    }
}

void Recorder::on_event(std::string_view name, std::initializer_list<log::Field> fields) {
    if (auto e = to_event(name, fields, now_ms())) record(std::move(*e));
}

void Recorder::record(Event e) {
    bool full = false, wake = false;
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= settings_.capacity) full = true;
        else {
            queue_.push_back(std::move(e));
            ++queued_total_;
            wake = queue_.size() == kWakeAt;
        }
    }
    if (!full) {
        if (wake) wake_.notify_one();   // otherwise the writer's period takes it
        return;
    }
    metrics::catalog().tracking_dropped.with({}).inc();
    std::uint64_t n = ++dropped_;
    if ((n & (n - 1)) == 0)   // 1, 2, 4, 8, ...: counted, never a flood
        log::warn("tracking.dropped", {{"dropped", n}, {"capacity", settings_.capacity},
                                       {"effect", "the tracking store misses events; sessions were not slowed"}});
}

void Recorder::flush() {
    std::unique_lock lock(mutex_);
    std::uint64_t target = queued_total_;
    flush_target_ = std::max(flush_target_, target);
    wake_.notify_one();
    written_.wait(lock, [&] { return written_total_ >= target; });
}

void Recorder::run() {
    using Clock = std::chrono::steady_clock;
    auto last_age = Clock::now(), last_size = Clock::now();
    bool wrote = false;
    std::vector<Event> batch;
    metrics::Histogram& batch_events = metrics::catalog().tracking_batch_events.with({});
    metrics::Histogram& write_seconds = metrics::catalog().tracking_write_seconds.with({});
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait_for(lock, kInterval, [&] { return stop_ || queue_.size() >= kWakeAt || written_total_ < flush_target_; });
        bool stopping = stop_;
        std::size_t take = std::min(queue_.size(), kBatch);
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(take)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
        lock.unlock();
        if (!batch.empty()) {
            batch_events.observe(static_cast<double>(batch.size()));
            const auto started = Clock::now();
            if (auto r = store_.append(batch); !r) log::error("tracking.write.failed", {{"events", batch.size()}, {"error", r.error().message}});
            write_seconds.observe(std::chrono::duration<double>(Clock::now() - started).count());
            wrote = true;
            {
                std::lock_guard checkpoint_lock(checkpoint_mutex_);
                checkpoint_due_ = true;
            }
            checkpoint_wake_.notify_one();
        }
        auto now = Clock::now();
        bool age_due = settings_.max_age_ms > 0 && now - last_age >= std::chrono::hours(1);
        bool size_due = settings_.max_size > 0 && wrote && now - last_size >= std::chrono::minutes(1);
        if (age_due || size_due) {
            if (auto r = store_.rotate(tracking::now_ms(), settings_.max_age_ms, settings_.max_size); !r)
                log::error("tracking.rotate.failed", {{"error", r.error().message}});
            else if (*r > 0) log::info("tracking.rotated", {{"deleted", *r}});
            if (age_due) last_age = now;
            if (size_due) last_size = now, wrote = false;
        }
        lock.lock();
        written_total_ += take;
        written_.notify_all();
        if (stopping && queue_.empty()) return;
        // A backlog (a slow write) doubled the queue's buffer; once it has drained, the
        // buffer goes back to its usual size and the allocator returns the freed pages, so
        // that a peak does not stay in the server's memory (RSS after a million messages).
        if (queue_.size() < kWakeAt && queue_.capacity() > 2 * kWakeAt) {
            std::vector<Event> usual;
            usual.reserve(2 * kWakeAt);
            std::move(queue_.begin(), queue_.end(), std::back_inserter(usual));
            queue_.swap(usual);
            lock.unlock();
            std::vector<Event>().swap(usual);
            std::vector<Event>().swap(batch);
            ::malloc_trim(0);
            lock.lock();
        }
    }
}

}  // namespace rampart::tracking
