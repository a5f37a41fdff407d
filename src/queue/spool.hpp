// queue/spool.hpp — the durable spool; the only writer of data_dir/spool.
// Trust: sees only messages a session accepted; never talks to the network.
// Contract: commit() returns only after the message is on stable storage (DESIGN.md §8):
// either its file and directory entry are (group commit: fsync of each file of the
// batch and of the directory, or for more than kSyncEachMax files one syncfs(2) of the
// spool's file system, falling back to fsync per file), or — for messages up to
// kJournalMax — a copy of the whole file is in the write-ahead journal
// (data_dir/spool/journal/0 and 1) and that journal was fdatasync'ed: one fdatasync of
// one file per batch instead of a syncfs, no other writer's data flushed on the
// acknowledgement path.
// A journalled message's file is written lazily: while the message is in flight its file
// bytes live in memory (at most kUnwrittenMax in all; beyond that the file is written at
// commit) and only the journal holds them on disk. The file is written when the message
// has to wait (append(): a deferral's attempt record, a hold, a quarantine; settle()),
// and by the checkpoint every kCheckpointEvery, which then makes the files durable (each
// file written since the last checkpoint and the directory synced, or one syncfs when
// there are more than kSyncEachMax) and empties the journal. A message delivered before
// either costs no file at all: no create, no unlink (they were about a fifth of the
// server's CPU per message).
// recover() first replays the journals: a journalled message whose file is missing or
// torn is written from its copy (and synced), and a message removed after delivery ("RM"
// record, appended by remove()) stays removed. The message file format is unchanged.
// A file without its end record and no journal copy is crash debris: recover() removes
// it, as it removes every file in incoming_dir() (messages that were still arriving:
// queue/incoming.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <asio/awaitable.hpp>

#include "queue/envelope.hpp"
#include "util/result.hpp"

namespace rampart::queue {

struct RecoveredMessage {
    Envelope envelope;
};

class Spool {
public:
    // Messages (spool file bytes) up to this size go through the journal; larger ones
    // are made durable with the syncfs group commit (a second copy would cost more than
    // the sync it saves).
    static constexpr std::size_t kJournalMax = 1 << 20;
    static constexpr std::chrono::milliseconds kCheckpointEvery{10000};
    static constexpr std::uint64_t kCheckpointBytes = 64ull << 20;
    // Bytes of journalled messages whose files are not written yet, at most.
    static constexpr std::size_t kUnwrittenMax = 32u << 20;
    // Up to this many files (written since the last checkpoint, or in one flush batch),
    // each one and the directory are synced; beyond, one syncfs (it writes out every
    // dirty page of the file system: with gigabytes of other data dirty, the checkpoint's
    // held acknowledgements back by hundreds of milliseconds; issue 13).
    static constexpr std::size_t kSyncEachMax = 64;

    explicit Spool(std::filesystem::path dir);
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    // Creates the directory and starts the flush thread.
    Result<Ok> open();

    // Writes envelope + `head` + `body` + end record as one file named env.id (a fresh id
    // is assigned if empty) and waits until durable. On error nothing is left behind and
    // the caller answers 452 4.3.1. The stored message is head followed by body.
    // `records` (queue/spool_format.hpp state records, e.g. a quarantine) follow the end
    // record and are durable with the message.
    // `copied`, if set, is called once `body` has been copied into the spool file, before
    // the flush: the caller may then drop its copy (`body` is not read again), so that a
    // message spilled to data_dir/spool/incoming is not written back by the flush too.
    asio::awaitable<Result<std::string>> commit(Envelope env, std::string_view head, std::string_view body,
                                                std::string_view records = {}, std::function<void()> copied = {});

    // Appends "done" records for `indices`, durably.
    asio::awaitable<Result<Ok>> mark_done(const std::string& id, std::vector<std::size_t> indices);
    // Appends state records (queue/spool_format.hpp), durably. Writes the message's file
    // first if it was not written yet (settle()).
    asio::awaitable<Result<Ok>> append(const std::string& id, std::string records);
    // Writes the message's file now if only the journal and memory hold it (see the header
    // comment); nothing to do if the file exists or the message is unknown. Not synced:
    // the journal still vouches for it until the next checkpoint.
    Result<Ok> settle(const std::string& id);
    // settle() for every message that memory and the journal alone hold (the checkpoint
    // and recover() use it; so do tests that look at the directory).
    Result<Ok> settle_all();

    // Every complete message in the spool; incomplete files are removed (and logged).
    // Replays the journal first (see the header comment).
    std::vector<Envelope> recover();
    // Makes every message file durable and empties the journal now (the checkpoint
    // thread does this every kCheckpointEvery; the destructor does it a last time).
    void checkpoint();
    // How many files the last checkpoint synced one by one (0 after a syncfs); for tests.
    std::size_t last_checkpoint_files() const { return last_checkpoint_files_; }

    // The stored message (Received header included), without envelope. Recently committed
    // small messages come from memory (delivery right after the commit reads no file).
    Result<std::string> read_message(const std::string& id) const;
    Result<Envelope> read_envelope(const std::string& id) const;

    // Forget a finished message: an "RM" record in the journal, and the file unlinked (or
    // never written).
    void remove(const std::string& id);

    const std::filesystem::path& dir() const { return dir_; }
    // Where arriving messages outgrowing their buffer wait for commit (queue/incoming.hpp);
    // created by open().
    std::filesystem::path incoming_dir() const { return dir_ / "incoming"; }

private:
    struct Pending {
        int fd;
        bool journal;                     // fdatasync(fd) suffices (fd is a journal)
        std::function<void(int)> done;   // errno, 0 on success; called on the flush thread
    };
    void enqueue(int fd, bool journal, std::function<void(int)> done);
    void flush_loop();
    void checkpoint_loop();
    // Makes the files of `ids` (those still there) and the directory durable: fsync each
    // and the directory, or one syncfs when there are more than kSyncEachMax or one of
    // them cannot be opened. A failed fsync is an error (the checkpoint keeps the journal).
    Result<Ok> sync_files(const std::vector<std::string>& ids);
    asio::awaitable<int> wait_durable(int fd, bool journal = false);
    // Appends one record to the active journal (spool.cpp: format 2): `fields` ("J <id>
    // <length>" or "RM <id>"), the generation and the crc of `payload` (whose own crc is
    // `payload_crc`) then of the line; a copy's bytes and their "\n" follow. Returns the
    // journal's descriptor (-1 on error).
    int journal_append(std::string_view fields, const struct iovec* payload, int n, std::uint32_t payload_crc, bool copy);
    // A "J" record: the message's file bytes (`parts`, `total` bytes, whose crc is `crc`).
    int journal_copy(const std::string& id, const struct iovec* parts, int n, std::size_t total, std::uint32_t crc);
    void journal_removal(const std::string& id);
    // Replays both journals, makes what they vouched for durable, empties them.
    Result<Ok> replay_journals();
    // Empties journal i: a header with the next generation, synced.
    Result<Ok> reset_journal(int i);
    // Drops the message's unwritten bytes, or unlinks its file if it was written.
    void forget(const std::string& id);
    // commit() of a message whose file is written lazily (see the header comment).
    asio::awaitable<Result<std::string>> commit_lazy(Envelope env, std::string_view head, std::string_view body,
                                                     std::string_view principal, std::string_view records,
                                                     std::function<void()> copied,
                                                     std::chrono::steady_clock::time_point started);
    // Writes an unwritten message's file; returns its open descriptor, -1 if the message
    // has no unwritten bytes (its file exists, or it is unknown).
    Result<int> write_unwritten(const std::string& id);
    void observe_commit(std::chrono::steady_clock::time_point started);

    // Journalled messages whose file is not written yet: the whole file's bytes, and where
    // the stored message starts in them. Guarded by unwritten_mutex_, which is also held
    // while one of them is written, so that remove() never races a file into existence.
    struct Unwritten {
        std::string bytes;
        std::size_t message_offset = 0;
        std::size_t message_size = 0;
    };
    std::string newest_at_open_;   // the highest new_queue_id()-style file name at open()
    mutable std::mutex unwritten_mutex_;
    std::unordered_map<std::string, Unwritten> unwritten_;
    std::size_t unwritten_bytes_ = 0;
    // Message files write_unwritten() wrote since the last checkpoint (guarded by
    // unwritten_mutex_): the ones the checkpoint makes durable before it empties the
    // journal that holds their copies.
    std::vector<std::string> written_since_checkpoint_;
    std::atomic<std::size_t> last_checkpoint_files_{0};   // files the last checkpoint synced one by one (tests)

    std::filesystem::path dir_;
    int dir_fd_ = -1;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Pending> pending_;
    bool stop_ = false;
    std::thread flusher_;

    // The journal: two files, one active; the checkpoint switches, syncs, truncates.
    std::mutex journal_mutex_;           // active_, journal_bytes_ and appends
    int journal_fd_[2] = {-1, -1};
    int active_ = 0;
    std::uint64_t journal_bytes_[2] = {0, 0};   // record bytes after the header
    std::uint64_t generation_[2] = {0, 0};
    std::uint64_t allocated_[2] = {0, 0};       // the file's size: written blocks, records or zeros
    static constexpr std::uint64_t kGrowMax = 16ull << 20;
    // Under journal_mutex_: the active journal should get zeroed blocks ahead of its end.
    bool grow_wanted() const;
    // Zero-fills the active journal's next stretch (the checkpoint thread, off the
    // acknowledgement path), then syncs it.
    void grow_journal();
    std::mutex checkpoint_mutex_;        // one checkpoint at a time

    // Messages (head + body) of recent commits up to kCacheEach bytes, at most kCacheTotal
    // in all, oldest dropped first; remove() drops its entry. The stored message never
    // changes after the commit (later records are appended after the end record).
    static constexpr std::size_t kCacheEach = 64 * 1024;
    static constexpr std::size_t kCacheTotal = 4 * 1024 * 1024;
    void cache_put(const std::string& id, std::string_view head, std::string_view body);
    void cache_drop(const std::string& id);
    mutable std::mutex cache_mutex_;
    std::deque<std::pair<std::string, std::string>> cache_;   // oldest first
    std::size_t cache_bytes_ = 0;
    std::condition_variable checkpoint_cv_;
    bool checkpoint_stop_ = false;
    std::thread checkpointer_;
};

// 13 hex digits of microseconds and 5 of a counter: ids grow with time, and are unique
// within the process.
std::string new_queue_id();
// True for a name of new_queue_id()'s form.
bool is_queue_id(std::string_view id);

}  // namespace rampart::queue
