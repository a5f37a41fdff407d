// queue/spool.hpp — the durable spool; the only writer of data_dir/spool.
// Trust: sees only messages a session accepted; never talks to the network.
// Contract: commit() returns only after the file and its directory entry are on stable
// storage (DESIGN.md §8). Concurrent commits share one flush (group commit: syncfs(2) of
// the spool's file system, falling back to fsync per file). A file without its end record
// is crash debris: recover() removes it, as it removes every file in incoming_dir() (messages
// that were still arriving: queue/incoming.hpp).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
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
    // Appends state records (queue/spool_format.hpp), durably.
    asio::awaitable<Result<Ok>> append(const std::string& id, std::string records);

    // Every complete message in the spool; incomplete files are removed (and logged).
    std::vector<Envelope> recover();

    // The stored message (Received header included), without envelope.
    Result<std::string> read_message(const std::string& id) const;
    Result<Envelope> read_envelope(const std::string& id) const;

    // Forget a finished message.
    void remove(const std::string& id);

    const std::filesystem::path& dir() const { return dir_; }
    // Where arriving messages outgrowing their buffer wait for commit (queue/incoming.hpp);
    // created by open().
    std::filesystem::path incoming_dir() const { return dir_ / "incoming"; }

private:
    struct Pending {
        int fd;
        std::function<void(int)> done;   // errno, 0 on success; called on the flush thread
    };
    void enqueue(int fd, std::function<void(int)> done);
    void flush_loop();
    asio::awaitable<int> wait_durable(int fd);

    std::filesystem::path dir_;
    int dir_fd_ = -1;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Pending> pending_;
    bool stop_ = false;
    std::thread flusher_;
};

std::string new_queue_id();

}  // namespace rampart::queue
