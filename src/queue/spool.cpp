// queue/spool.cpp — the durable spool; the only writer of data_dir/spool.
// Contract: commit() completes only after fdatasync of the journal holding the message's
// copy, or syncfs (or fsync of the file and directory) returned success for a batch that
// includes its file. Journal records: "J <id> <length>\n" + the spool file's bytes + "\n",
// and "RM <id>\n"; a record cut short (crash mid-append) ends the replay of that journal.
#include "queue/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "queue/incoming.hpp"
#include "queue/spool_format.hpp"
#include "util/file_io.hpp"
#include "util/log.hpp"
#include "util/metric_catalog.hpp"

namespace rampart::queue {
using util::read_file;
using util::write_all;

namespace {

// writev(2) until everything is written; retries EINTR. `iov` is consumed.
Result<Ok> writev_all(int fd, std::vector<iovec> iov) {
    std::size_t i = 0;
    while (i < iov.size()) {
        int n = static_cast<int>(std::min<std::size_t>(iov.size() - i, IOV_MAX));
        ssize_t w = ::writev(fd, iov.data() + i, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "write");
        }
        auto left = static_cast<std::size_t>(w);
        while (i < iov.size() && left >= iov[i].iov_len) left -= iov[i++].iov_len;
        if (i < iov.size()) {
            iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + left;
            iov[i].iov_len -= left;
        }
    }
    return Ok{};
}

iovec iov_of(std::string_view s) { return iovec{const_cast<char*>(s.data()), s.size()}; }

std::uint64_t file_size(int fd) {
    struct stat st{};
    return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

struct JournalContent {
    std::unordered_map<std::string, std::string> copies;   // id -> spool file bytes
    std::unordered_set<std::string> removed;
    std::size_t records = 0;
    bool torn = false;
};

// Parses one journal's bytes into `out`; stops at the first record that is cut short.
void parse_journal(std::string_view j, JournalContent& out) {
    std::size_t pos = 0;
    while (pos < j.size()) {
        std::size_t nl = j.find('\n', pos);
        if (nl == std::string_view::npos) { out.torn = true; return; }
        std::string_view line = j.substr(pos, nl - pos);
        if (line.starts_with("RM ") && line.size() > 3) {
            out.removed.insert(std::string(line.substr(3)));
            ++out.records;
            pos = nl + 1;
            continue;
        }
        std::size_t sp = line.rfind(' ');
        std::uint64_t len = 0;
        if (!line.starts_with("J ") || sp <= 2 ||
            std::from_chars(line.data() + sp + 1, line.data() + line.size(), len).ec != std::errc{}) {
            out.torn = true;
            return;
        }
        std::string id(line.substr(2, sp - 2));
        std::size_t start = nl + 1;
        if (len > j.size() - start || j.size() - start - len < 1 || j[start + len] != '\n') { out.torn = true; return; }
        out.copies[id] = std::string(j.substr(start, len));
        ++out.records;
        pos = start + len + 1;
    }
}

}  // namespace

bool is_queue_id(std::string_view id) {
    return id.size() == 18 && std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

std::string new_queue_id() {
    static std::atomic<std::uint32_t> counter{0};
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%013llX%05X", static_cast<unsigned long long>(us) & 0xFFFFFFFFFFFFFull,
                  counter.fetch_add(1) & 0xFFFFF);
    return buf;
}

Spool::Spool(std::filesystem::path dir) : dir_(std::move(dir)) {}

Spool::~Spool() {
    {
        std::lock_guard lock(journal_mutex_);
        checkpoint_stop_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();   // its last checkpoint included
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    if (flusher_.joinable()) flusher_.join();
    for (int fd : journal_fd_)
        if (fd >= 0) ::close(fd);
    if (dir_fd_ >= 0) ::close(dir_fd_);
}

Result<Ok> Spool::open() {
    std::error_code ec;
    std::filesystem::create_directories(incoming_dir(), ec);
    if (ec) return Error{ec.value(), "create " + incoming_dir().string() + ": " + ec.message()};
    std::filesystem::create_directories(dir_ / "journal", ec);
    if (ec) return Error{ec.value(), "create " + (dir_ / "journal").string() + ": " + ec.message()};
    dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) return errno_error(errno, "open " + dir_.string());
    for (int i = 0; i < 2; ++i) {
        std::filesystem::path p = dir_ / "journal" / std::to_string(i);
        journal_fd_[i] = ::open(p.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (journal_fd_[i] < 0) return errno_error(errno, "open " + p.string());
        journal_bytes_[i] = file_size(journal_fd_[i]);
    }
    replay_journals();
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ignored)) {
        std::string name = entry.path().filename().string();
        if (is_queue_id(name) && name > newest_at_open_) newest_at_open_ = std::move(name);
    }
    flusher_ = std::thread([this] { flush_loop(); });
    checkpointer_ = std::thread([this] { checkpoint_loop(); });
    return Ok{};
}

void Spool::replay_journals() {
    JournalContent jc;
    for (int i = 0; i < 2; ++i) {
        if (journal_bytes_[i] == 0) continue;
        auto content = read_file(dir_ / "journal" / std::to_string(i));
        if (!content) {
            log::error("spool.journal.unreadable", {{"file", (dir_ / "journal" / std::to_string(i)).string()}, {"error", content.error().message}});
            continue;
        }
        parse_journal(*content, jc);
    }
    if (jc.records == 0 && !jc.torn) return;
    std::size_t restored = 0, removed = 0;
    for (const std::string& id : jc.removed) {
        jc.copies.erase(id);
        if (id.find('/') == std::string::npos && ::unlink((dir_ / id).c_str()) == 0) ++removed;
    }
    for (const auto& [id, bytes] : jc.copies) {
        if (id.empty() || id.find('/') != std::string::npos || id.starts_with(".")) continue;
        std::filesystem::path path = dir_ / id;
        auto now = read_file(path);
        if (now) {
            auto parsed = parse_spool_file(*now);
            if (parsed && parsed->envelope.id == id) continue;   // the file made it
        }
        // Lost or torn in the crash: the journal's copy is what was acknowledged.
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        Result<Ok> w = fd >= 0 ? write_all(fd, bytes) : errno_error(errno, "create " + path.string());
        if (w && ::fsync(fd) != 0) w = errno_error(errno, "fsync " + path.string());
        if (fd >= 0) ::close(fd);
        if (!w) {
            log::error("spool.journal.restore_failed", {{"id", id}, {"error", w.error().message}});
            continue;
        }
        // Normal after a crash: a message in flight had its file written lazily (spool.hpp).
        log::info("spool.journal.restored", {{"id", id}, {"bytes", bytes.size()}});
        ++restored;
    }
    log::info("spool.journal.replayed", {{"records", jc.records}, {"restored", restored}, {"removed", removed}, {"torn_tail", jc.torn ? "yes" : "no"}});
    // Everything the journals vouched for is in its file now: make that durable, then
    // empty them (each truncation made durable, so no old record comes back).
    if (::syncfs(dir_fd_) != 0) {
        log::error("spool.journal.sync_failed", {{"error", std::strerror(errno)}, {"action", "journal kept"}});
        return;
    }
    for (int i = 0; i < 2; ++i) {
        if (::ftruncate(journal_fd_[i], 0) == 0) journal_bytes_[i] = 0;
        ::fdatasync(journal_fd_[i]);
    }
}

int Spool::journal_append(const iovec* iov, int n, std::size_t bytes) {
    std::lock_guard lock(journal_mutex_);
    int fd = journal_fd_[active_];
    if (fd < 0) return -1;
    Result<Ok> w = writev_all(fd, std::vector<iovec>(iov, iov + n));
    if (!w) {
        // A record cut short would end every later replay here: take it back.
        if (::ftruncate(fd, static_cast<off_t>(journal_bytes_[active_])) != 0) journal_bytes_[active_] = file_size(fd);
        return -1;
    }
    journal_bytes_[active_] += bytes;
    if (journal_bytes_[active_] >= kCheckpointBytes) checkpoint_cv_.notify_one();
    return fd;
}

void Spool::checkpoint_loop() {
    while (true) {
        bool stop;
        {
            std::unique_lock lock(journal_mutex_);
            checkpoint_cv_.wait_for(lock, kCheckpointEvery,
                                    [this] { return checkpoint_stop_ || journal_bytes_[active_] >= kCheckpointBytes; });
            stop = checkpoint_stop_;
        }
        checkpoint();
        if (stop) return;
    }
}

void Spool::checkpoint() {
    std::lock_guard one(checkpoint_mutex_);
    int old;
    {
        std::lock_guard lock(journal_mutex_);
        if (journal_bytes_[active_] == 0) return;
        old = active_;
        active_ = 1 - active_;   // new records go to the other journal from now on
    }
    int jfd = journal_fd_[old];
    // Every message with a copy in `old` has its file written now (or was removed): the
    // ones still in memory are written first (each entered the map before its record
    // reached a journal). Then one syncfs makes the files durable, and the journal's
    // copies are no longer needed.
    if (auto w = settle_all(); !w) {
        log::error("spool.checkpoint.failed", {{"error", w.error().message}, {"action", "journal kept; retried"}});
        return;
    }
    if (::syncfs(dir_fd_) != 0) {
        log::error("spool.checkpoint.failed", {{"error", std::strerror(errno)}, {"action", "journal kept; retried"}});
        return;
    }
    std::lock_guard lock(journal_mutex_);
    if (::ftruncate(jfd, 0) == 0) journal_bytes_[old] = 0;
    ::fdatasync(jfd);
}

void Spool::enqueue(int fd, bool journal, std::function<void(int)> done) {
    {
        std::lock_guard lock(mutex_);
        pending_.push_back({fd, journal, std::move(done)});
    }
    cv_.notify_one();
}

void Spool::flush_loop() {
    std::vector<Pending> batch;
    metrics::Histogram& flush_batch_size = metrics::catalog().spool_flush_messages.with({});
    while (true) {
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
            if (pending_.empty() && stop_) return;
            batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
            pending_.clear();
        }
        flush_batch_size.observe(static_cast<double>(batch.size()));
        // Journalled messages: one fdatasync per journal in the batch (at most two).
        int jfd[2] = {-1, -1}, jerr[2] = {0, 0};
        bool files = false;
        for (const Pending& p : batch) {
            if (!p.journal) files = true;
            else if (jfd[0] < 0 || jfd[0] == p.fd) jfd[0] = p.fd;
            else jfd[1] = p.fd;
        }
        for (int i = 0; i < 2; ++i) {
            if (jfd[i] < 0) continue;
            if (::fdatasync(jfd[i]) != 0) {
                jerr[i] = errno;
                continue;
            }
            // A journal unlinked under us (the spool directory removed) syncs fine but
            // vouches for nothing: those messages are refused, not acknowledged.
            struct stat st{};
            if (::fstat(jfd[i], &st) == 0 && st.st_nlink == 0) jerr[i] = ENOENT;
        }
        // Files: one syncfs covers every file of the batch, their directory entries included.
        int err = files ? (::syncfs(dir_fd_) == 0 ? 0 : errno) : 0;
        for (Pending& p : batch) {
            if (p.journal) {
                p.done(p.fd == jfd[0] ? jerr[0] : jerr[1]);
            } else if (err != 0) {
                // Fall back to per-file fsync plus one directory fsync; report per file.
                int e = ::fsync(p.fd) == 0 ? 0 : errno;
                if (e == 0 && ::fsync(dir_fd_) != 0) e = errno;
                p.done(e);
            } else {
                p.done(0);
            }
        }
        batch.clear();
    }
}

asio::awaitable<int> Spool::wait_durable(int fd, bool journal) {
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(int)>(
        [this, fd, journal](auto handler) {
            auto ex = asio::get_associated_executor(handler);
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            enqueue(fd, journal, [h, ex](int err) { asio::post(ex, [h, err]() mutable { (*h)(err); }); });
        },
        asio::use_awaitable);
}

asio::awaitable<Result<std::string>> Spool::commit(Envelope env, std::string_view head, std::string_view body,
                                                   std::string_view records, std::function<void()> copied) {
    const auto started = std::chrono::steady_clock::now();
    env.size = head.size() + body.size();
    std::string principal = env.principal.empty() ? std::string() : encode_principal(env);
    // The header is a few hundred bytes; the bound on unwritten bytes is a soft one.
    const std::size_t rough = env.size + principal.size() + records.size() + 4096;
    bool lazy = rough <= kJournalMax;
    if (lazy) {
        std::lock_guard lock(unwritten_mutex_);
        lazy = unwritten_bytes_ + rough <= kUnwrittenMax;
    }
    if (lazy) co_return co_await commit_lazy(std::move(env), head, body, principal, records, std::move(copied), started);

    int fd = -1;
    std::filesystem::path path;
    for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
        if (env.id.empty() || attempt > 0) env.id = new_queue_id();
        path = dir_ / env.id;
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) co_return errno_error(errno, "create " + path.string());
    }
    if (fd < 0) co_return Error{EEXIST, "no free queue id in " + dir_.string()};
    std::string header = encode_header(env);
    std::vector<iovec> parts{iov_of(header), iov_of(head), iov_of(body), iov_of(kEndRecord), iov_of(principal), iov_of(records)};
    std::size_t total = 0;
    for (const iovec& v : parts) total += v.iov_len;
    Result<Ok> w = writev_all(fd, parts);   // one system call, whatever the parts
    if (w) cache_put(env.id, head, body);   // before copied(): `body` may go away then
    int err = 0;
    if (w && total <= kJournalMax) {
        // The copy in the journal, written after the file, is what makes the 250 safe.
        std::string open_record = "J " + env.id + " " + std::to_string(total) + "\n";
        std::vector<iovec> rec{iov_of(open_record)};
        rec.insert(rec.end(), parts.begin(), parts.end());
        rec.push_back(iov_of("\n"));
        int jfd = journal_append(rec.data(), static_cast<int>(rec.size()), open_record.size() + total + 1);
        if (copied) copied();
        err = jfd >= 0 ? co_await wait_durable(jfd, true) : co_await wait_durable(fd);
        if (err != 0 && jfd >= 0) {
            // Answered 452: a replay must not bring it back (the client sends it again).
            std::string rm = "RM " + env.id + "\n";
            iovec v = iov_of(rm);
            journal_append(&v, 1, rm.size());
        }
    } else {
        if (copied) copied();   // even if a write failed: the caller answers 452 and drops it
        if (w) err = co_await wait_durable(fd);
    }
    ::close(fd);
    if (!w || err != 0) {
        cache_drop(env.id);
        ::unlink(path.c_str());
        co_return !w ? w.error() : errno_error(err, "sync " + path.string());
    }
    observe_commit(started);
    co_return env.id;
}

asio::awaitable<Result<std::string>> Spool::commit_lazy(Envelope env, std::string_view head, std::string_view body,
                                                        std::string_view principal, std::string_view records,
                                                        std::function<void()> copied,
                                                        std::chrono::steady_clock::time_point started) {
    // A fresh id names no file (a message from before a restart may still have one) and
    // no message in memory; the check and the insertion happen under one lock below.
    // new_queue_id()'s ids grow with time: one above every id the directory held at open()
    // names no file (files created since are ours, and ours are unique), so only an id
    // from elsewhere (or after the clock went back) costs a look at the directory.
    bool fresh = false;
    for (int attempt = 0; attempt < 100 && !fresh; ++attempt) {
        if (env.id.empty() || attempt > 0) env.id = new_queue_id();
        fresh = (is_queue_id(env.id) && env.id > newest_at_open_) ||
                (::faccessat(dir_fd_, env.id.c_str(), F_OK, 0) != 0 && errno == ENOENT);
    }
    Unwritten u;
    std::string header = encode_header(env);
    u.message_offset = header.size();
    u.message_size = env.size;
    u.bytes.reserve(header.size() + env.size + kEndRecord.size() + principal.size() + records.size());
    u.bytes.append(header).append(head).append(body).append(kEndRecord).append(principal).append(records);
    if (copied) copied();   // `body` is not read again
    const std::size_t total = u.bytes.size();
    std::string open_record = "J " + env.id + " " + std::to_string(total) + "\n";
    iovec rec[3] = {iov_of(open_record), iov_of(u.bytes), iov_of("\n")};
    int jfd;
    {
        // The entry is in the map before its record is in a journal: a checkpoint that
        // switches journals after the append finds the entry and writes its file. The
        // lock is held over the append, so that no checkpoint writes and drops the entry
        // while the append still reads its bytes.
        std::lock_guard lock(unwritten_mutex_);
        auto [it, inserted] = fresh ? unwritten_.try_emplace(env.id, std::move(u)) : std::pair{unwritten_.end(), false};
        if (!inserted) co_return Error{EEXIST, "no free queue id in " + dir_.string()};
        unwritten_bytes_ += total;
        rec[1] = iov_of(it->second.bytes);
        jfd = journal_append(rec, 3, open_record.size() + total + 1);
    }
    int err;
    if (jfd >= 0) {
        err = co_await wait_durable(jfd, true);
        if (err != 0) {
            // Answered 452: a replay must not bring it back (the client sends it again).
            std::string rm = "RM " + env.id + "\n";
            iovec v = iov_of(rm);
            journal_append(&v, 1, rm.size());
        }
    } else {
        // The journal did not take it (a full disk, say): the file, synced as a file.
        auto fd = write_unwritten(env.id);
        err = !fd ? (fd.error().code ? fd.error().code : EIO) : *fd < 0 ? ENOENT : co_await wait_durable(*fd);
        if (fd && *fd >= 0) ::close(*fd);
    }
    if (err != 0) {
        forget(env.id);
        co_return errno_error(err, "sync " + (dir_ / env.id).string());
    }
    observe_commit(started);
    co_return env.id;
}

void Spool::observe_commit(std::chrono::steady_clock::time_point started) {
    static metrics::Histogram& commit_seconds = metrics::catalog().spool_commit_seconds.with({});
    commit_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

Result<int> Spool::write_unwritten(const std::string& id) {
    std::lock_guard lock(unwritten_mutex_);
    auto it = unwritten_.find(id);
    if (it == unwritten_.end()) return -1;
    std::filesystem::path path = dir_ / id;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return errno_error(errno, "create " + path.string());
    Result<Ok> w = writev_all(fd, {iov_of(it->second.bytes)});
    if (!w) {
        // The journal still holds it; the next checkpoint or a replay tries again.
        ::close(fd);
        ::unlink(path.c_str());
        return w.error();
    }
    const Unwritten& u = it->second;
    cache_put(id, std::string_view(u.bytes).substr(0, u.message_offset + u.message_size).substr(u.message_offset), {});
    unwritten_bytes_ -= u.bytes.size();
    unwritten_.erase(it);
    return fd;
}

Result<Ok> Spool::settle_all() {
    std::vector<std::string> ids;
    {
        std::lock_guard lock(unwritten_mutex_);
        ids.reserve(unwritten_.size());
        for (const auto& [id, u] : unwritten_) ids.push_back(id);
    }
    for (const std::string& id : ids)
        if (auto w = settle(id); !w) return Error{w.error().code, id + ": " + w.error().message};
    return Ok{};
}

Result<Ok> Spool::settle(const std::string& id) {
    auto fd = write_unwritten(id);
    if (!fd) return fd.error();
    if (*fd >= 0) ::close(*fd);
    return Ok{};
}

void Spool::forget(const std::string& id) {
    {
        std::lock_guard lock(unwritten_mutex_);
        auto it = unwritten_.find(id);
        if (it != unwritten_.end()) {
            unwritten_bytes_ -= it->second.bytes.size();
            unwritten_.erase(it);
            return;
        }
    }
    ::unlink((dir_ / id).c_str());
}

asio::awaitable<Result<Ok>> Spool::mark_done(const std::string& id, std::vector<std::size_t> indices) {
    std::string records;
    for (std::size_t i : indices) records += encode_done(i);
    co_return co_await append(id, std::move(records));
}

asio::awaitable<Result<Ok>> Spool::append(const std::string& id, std::string records) {
    if (auto settled = settle(id); !settled) co_return settled.error();
    std::filesystem::path path = dir_ / id;
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) co_return errno_error(errno, "open " + path.string());
    Result<Ok> w = write_all(fd, records);
    int err = w ? co_await wait_durable(fd) : 0;
    ::close(fd);
    if (!w) co_return w.error();
    if (err != 0) co_return errno_error(err, "sync " + path.string());
    co_return Ok{};
}

std::vector<Envelope> Spool::recover() {
    std::vector<Envelope> out;
    std::error_code ec;
    // On a running spool, what only memory and the journal hold is written first, so that
    // the listing below sees it too (at start-up there is nothing: open() replayed).
    if (auto w = settle_all(); !w) log::error("spool.recover.settle_failed", {{"error", w.error().message}});
    // Messages that were arriving when the server stopped were never acknowledged.
    if (IncomingDebris d = remove_incoming_debris(incoming_dir()); d.files > 0)
        log::warn("spool.recover.incoming", {{"dir", incoming_dir().string()}, {"files", d.files}, {"bytes", d.bytes}});
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
        if (!entry.is_regular_file()) continue;
        auto content = read_file(entry.path());
        if (!content) {
            log::error("spool.recover.unreadable", {{"file", entry.path().string()}, {"error", content.error().message}});
            continue;
        }
        auto parsed = parse_spool_file(*content);
        if (!parsed || parsed->envelope.id != entry.path().filename().string()) {
            // Never acknowledged: the end record is written before the flush we wait for.
            log::warn("spool.recover.debris", {{"file", entry.path().string()}, {"bytes", content->size()}});
            ::unlink(entry.path().c_str());
            continue;
        }
        if (finished(parsed->envelope)) {
            ::unlink(entry.path().c_str());
            continue;
        }
        out.push_back(std::move(parsed->envelope));
    }
    return out;
}

void Spool::cache_put(const std::string& id, std::string_view head, std::string_view body) {
    if (head.size() + body.size() > kCacheEach) return;
    std::string m;
    m.reserve(head.size() + body.size());
    m.append(head).append(body);
    std::lock_guard lock(cache_mutex_);
    cache_bytes_ += m.size();
    cache_.emplace_back(id, std::move(m));
    while (cache_bytes_ > kCacheTotal && !cache_.empty()) {
        cache_bytes_ -= cache_.front().second.size();
        cache_.pop_front();
    }
}

void Spool::cache_drop(const std::string& id) {
    std::lock_guard lock(cache_mutex_);
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
        if (it->first == id) {
            cache_bytes_ -= it->second.size();
            cache_.erase(it);
            return;
        }
    }
}

Result<std::string> Spool::read_message(const std::string& id) const {
    {
        std::lock_guard lock(unwritten_mutex_);
        if (auto it = unwritten_.find(id); it != unwritten_.end())
            return it->second.bytes.substr(it->second.message_offset, it->second.message_size);
    }
    {
        std::lock_guard lock(cache_mutex_);
        for (auto it = cache_.rbegin(); it != cache_.rend(); ++it)
            if (it->first == id) return it->second;
    }
    auto content = read_file(dir_ / id);
    if (!content) return content.error();
    auto parsed = parse_spool_file(*content);
    if (!parsed) return Error{0, "spool file " + (dir_ / id).string() + " is malformed"};
    return content->substr(parsed->message_offset, parsed->envelope.size);
}

Result<Envelope> Spool::read_envelope(const std::string& id) const {
    {
        std::lock_guard lock(unwritten_mutex_);
        if (auto it = unwritten_.find(id); it != unwritten_.end()) {
            auto parsed = parse_spool_file(it->second.bytes);
            if (!parsed) return Error{0, "queued message " + id + " is malformed"};
            return std::move(parsed->envelope);
        }
    }
    auto content = read_file(dir_ / id);
    if (!content) return content.error();
    auto parsed = parse_spool_file(*content);
    if (!parsed) return Error{0, "spool file " + (dir_ / id).string() + " is malformed"};
    return std::move(parsed->envelope);
}

void Spool::remove(const std::string& id) {
    // The record first: a replay after kill -9 sees it and does not bring the message
    // back. After a power failure the record may be lost while the unlink is not: the
    // message is then delivered again (at least once, as before the journal, when the
    // unlink itself could be lost).
    std::string record = "RM " + id + "\n";
    iovec v = iov_of(record);
    journal_append(&v, 1, record.size());
    forget(id);
    cache_drop(id);
}

}  // namespace rampart::queue
