// tracking/store.hpp — the durable message tracking store: one SQLite file per server
// (data_dir/tracking.db), written by the server's tracking::Recorder, read by `rampart track`.
// Trust: events come from this server's own log events (tracking/recorder.hpp); their
// values may be a peer's text (addresses, reasons) and are stored as data, bound as SQL
// parameters, never spliced into SQL.
// Contract: WAL mode, so a reader (`rampart track`) runs while the server writes; one
// writer at a time (the recorder's thread). append() is one transaction per batch.
// Events are grouped into messages by tracking id: a delivery event that knows only a
// queue id is filed under the tracking id recorded with that queue id (a report's queue
// id under its original's); without one, under "qid:QID".
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

struct sqlite3;

namespace rampart::tracking {

// One tracked event: a log event's fields (docs/logging.md), by column.
struct Event {
    std::int64_t ts_ms = 0;      // Unix time, milliseconds
    std::string event;           // the log event's name: "smtp.rcpt.refused", "delivery.attempt", ...
    std::string tracking_id;
    std::string qid;
    std::string listener, client, principal;
    std::string sender;          // "from"
    std::string rcpts;           // "rcpts", "to" or "rcpt": comma-separated
    std::string agent, stage, rule;
    std::string result;          // "result", "verdict" or (dsn) "kind"
    int code = 0;
    std::string status;          // enhanced status code, where the event has one
    std::string reason;
    std::string relay;
    std::uint64_t size = 0;
    std::string extra;           // dsn.queued: the report's queue id; a report's own event: "report"
                                 // (filed with the original, its status left alone)
};

// What a message has been through, as bits (a message may have several: one recipient
// delivered, another refused).
enum StatusBit : int { Refused = 1, Quarantined = 2, Delivered = 4, Deferred = 8, Bounced = 16 };
// "delivered" → Delivered, ...; 0 for an unknown name.
int status_bit(std::string_view name);
// "refused,delivered" (or "received" when no bit is set).
std::string status_names(int bits);

struct Query {
    std::string id;          // a tracking id or a queue id
    std::string sender;      // envelope sender, case-insensitive, exact
    std::string recipient;   // a recipient (accepted or refused), case-insensitive, exact
    std::string client;      // client address, exact
    std::optional<std::int64_t> since_ms, until_ms;   // messages with an event in [since, until]
    int status = 0;          // a StatusBit: messages that have it; 0: any
    std::size_t limit = 100; // most recent first
};

struct Message {
    std::string tracking_id;
    int status = 0;
    std::vector<Event> events;   // in order
};

class Store {
public:
    ~Store();
    Store(Store&&) noexcept;
    Store& operator=(Store&&) noexcept;
    // Creates the file and its tables when `create`; otherwise it must exist.
    static Result<Store> open(const std::filesystem::path& file, bool create);

    // One transaction for the whole batch.
    Result<Ok> append(std::vector<Event>& batch);
    // Deletes events older than `now_ms - max_age_ms` (0: no age limit), then the oldest
    // events while the data takes more than `max_size` bytes (0: no size limit), and gives
    // the freed pages back to the file system. Returns the number of events deleted.
    Result<std::uint64_t> rotate(std::int64_t now_ms, std::int64_t max_age_ms, std::uint64_t max_size);
    // For the writer's connection: no automatic checkpoint when a transaction commits (the
    // recorder's checkpoint thread does them on its own connection), so an append never
    // waits for SQLite to copy the WAL into the database and sync it.
    Result<Ok> leave_checkpoints_to_another();
    // Copies the WAL's frames into the database file as far as it can without waiting for
    // readers or the writer (SQLITE_CHECKPOINT_PASSIVE), syncing as `synchronous` says.
    // Returns the frames the WAL holds and how many of them are now in the database.
    struct CheckpointResult { int wal_frames = 0, checkpointed = 0; };
    Result<CheckpointResult> checkpoint();
    // Bytes the store's pages hold (free pages not counted).
    std::uint64_t data_bytes();
    // Matching messages, most recent first, each with all its events.
    Result<std::vector<Message>> find(const Query& q);
    std::uint64_t event_count();

private:
    explicit Store(sqlite3* db) : db_(db) {}
    sqlite3* db_ = nullptr;
};

}  // namespace rampart::tracking
