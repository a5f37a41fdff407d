// tracking/recorder.hpp — feeds the tracking store from the log events it tracks, off the
// SMTP path: sessions and delivery only copy an event's fields into a bounded queue; one
// writer thread takes what is queued and appends it to the store in one transaction.
// The writer wakes every kInterval (or when kWakeAt events wait, or flush() asks), not per
// event: one store transaction and no thread wake-up per message (issue 13). An event is
// therefore in the store up to kInterval after it happened.
// Contract: on_event never blocks on the store; when the queue is full the event is
// dropped and counted (tracking.dropped warning, at the 1st, 2nd, 4th, 8th... drop). The
// store is rotated (Store::rotate) at start, by age hourly and by size every minute.
// SQLite's WAL is copied into the database by a second thread on its own connection
// (a passive checkpoint at most every kCheckpointEvery while the writer writes): done by
// the writer at a commit, as SQLite does by default, a checkpoint held a batch up for
// 0.25-1 s now and then, and the events queued meanwhile (docs/performance.md). After a
// backlog has drained, the queue's grown buffer is let go (and malloc_trim returns it).
// Tracked events (docs/logging.md): smtp.connection.refused, smtp.mail.refused,
// smtp.rcpt.refused, smtp.transaction, filter.verdict (other than continue),
// quarantine.added, quarantine.released, delivery.attempt, queue.failed, dsn.queued,
// dsn.suppressed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "tracking/store.hpp"
#include "util/log_observer.hpp"
#include "util/result.hpp"

namespace rampart::tracking {

// The store's event for a log event, or nullopt if the event is not tracked.
std::optional<Event> to_event(std::string_view name, std::initializer_list<log::Field> fields, std::int64_t now_ms);
std::int64_t now_ms();

struct RecorderSettings {
    std::size_t capacity = 50000;          // events waiting for the writer at most
    std::int64_t max_age_ms = 0;           // 0: no age limit
    std::uint64_t max_size = 0;            // 0: no size limit
};

class Recorder final : public log::Observer {
public:
    // The writer's period, and the queue length that wakes it before the period ends.
    static constexpr std::chrono::milliseconds kInterval{200};
    static constexpr std::size_t kWakeAt = 2048;
    static constexpr std::chrono::milliseconds kCheckpointEvery{1000};

    // Opens (creates) the store at `file`, rotates it once and starts the writer thread.
    static Result<std::unique_ptr<Recorder>> start(const std::filesystem::path& file, RecorderSettings settings);
    // Writes what is queued, then stops the thread.
    ~Recorder() override;
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    void on_event(std::string_view name, std::initializer_list<log::Field> fields) override;
    // Queues an event as on_event does (tests, bench).
    void record(Event e);
    // Waits until everything queued so far is in the store.
    void flush();
    std::uint64_t dropped() const { return dropped_.load(); }
    // Checkpoints the checkpoint thread has run (tests).
    std::uint64_t checkpoints() const { return checkpoints_.load(); }
    // Events the queue's buffer has room for now (tests).
    std::size_t queue_capacity() {
        std::lock_guard lock(mutex_);
        return queue_.capacity();
    }

private:
    Recorder(Store store, Store checkpoint_store, RecorderSettings settings);
    void run();
    void run_checkpoints();

    Store store_;
    RecorderSettings settings_;
    std::mutex mutex_;
    std::condition_variable wake_, written_;
    std::vector<Event> queue_;
    std::uint64_t queued_total_ = 0, written_total_ = 0;   // under mutex_
    std::uint64_t flush_target_ = 0;                       // under mutex_: flush() waits for this many
    bool stop_ = false;
    std::atomic<std::uint64_t> dropped_{0};
    std::thread thread_;
    // The checkpoint thread: its own connection, woken by the writer after a batch.
    Store checkpoint_store_;
    std::mutex checkpoint_mutex_;
    std::condition_variable checkpoint_wake_;
    bool checkpoint_due_ = false, checkpoint_stop_ = false;   // under checkpoint_mutex_
    std::atomic<std::uint64_t> checkpoints_{0};
    std::thread checkpointer_;
};

}  // namespace rampart::tracking
