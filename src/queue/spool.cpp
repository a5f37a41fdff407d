// queue/spool.cpp — the durable spool; the only writer of data_dir/spool.
// Contract: commit() completes only after fdatasync of the journal holding the message's
// copy, or fsync of its file and the directory (syncfs for a batch of more than
// kSyncEachMax files) returned success.
// Journal format 2: a header "RJ2 <generation, 16 hex digits>\n" at offset 0, then records
// "J <id> <length> <generation> <crc>\n" + the spool file's bytes + "\n" and
// "RM <id> <generation> <crc>\n" (hex; crc: zlib's CRC-32 of the bytes, then of the line
// up to the crc). Emptying a journal (checkpoint, start-up) writes a header with the next
// generation instead of truncating the file: later records overwrite blocks the file
// already has, so the fdatasync that acknowledges them writes data only, not the inode and
// block-allocation metadata (that was 45% of the flush thread's time: issue 13). The replay
// stops at the first record of another generation (stale bytes of an earlier one) or with
// a wrong crc (cut short by a crash: never acknowledged). A journal without the header is
// format 1 ("J <id> <length>\n" + bytes + "\n", "RM <id>\n"; before issue 13's second
// pass), read the same way up to its first incomplete record.
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

#include <zlib.h>

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

// pwritev(2) at `off` until everything is written; retries EINTR. `iov` is consumed. (The
// spool files are written from offset 0 of a fresh file; the journal at its record end.)
Result<Ok> pwritev_all(int fd, std::vector<iovec> iov, off_t off) {
    std::size_t i = 0;
    while (i < iov.size()) {
        int n = static_cast<int>(std::min<std::size_t>(iov.size() - i, IOV_MAX));
        ssize_t w = ::pwritev(fd, iov.data() + i, n, off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "write");
        }
        off += w;
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

// The file's link count, asking for nothing else (-1 if it cannot be had). fstat(2) would
// also read the change time, and on file systems with multigrain timestamps (Linux 6.13+)
// a read change time makes the next write stamp a fine-grained one: every append then
// dirties the inode, and on ext4 without a journal every fdatasync writes the inode table
// block too, a third wait on the device (measured: 3 requests per fdatasync instead of 2).
// Where statx is refused (an old kernel, a sandbox's system call filter), fstat answers.
long link_count(int fd) {
    struct statx sx{};
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_NLINK, &sx) == 0 && (sx.stx_mask & STATX_NLINK))
        return static_cast<long>(sx.stx_nlink);
    struct stat st{};
    return ::fstat(fd, &st) == 0 ? static_cast<long>(st.st_nlink) : -1;
}

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

constexpr std::size_t kJournalHeader = 21;   // "RJ2 " + 16 hex digits + "\n"

std::string journal_header(std::uint64_t generation) {
    char b[32];
    std::snprintf(b, sizeof b, "RJ2 %016llx\n", static_cast<unsigned long long>(generation));
    return b;
}

std::uint32_t crc_of(std::uint32_t crc, std::string_view s) {
    return static_cast<std::uint32_t>(::crc32(crc, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

template <class N>
bool hex_field(std::string_view s, N& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
    return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

// Parses one journal's bytes into `out`; returns its generation (0: format 1, or no valid
// header: nothing in it counts). Format 1 ends at the first record cut short (torn).
// Format 2 ends there too, at a wrong crc (torn), and where its generation's records end:
// at a record of another generation or at bytes that are no record (stale, not torn).
std::uint64_t parse_journal(std::string_view j, JournalContent& out) {
    constexpr auto npos = std::string_view::npos;
    const bool v2 = j.starts_with("RJ2 ");
    std::uint64_t gen = 0;
    std::size_t pos = 0;
    if (v2) {
        if (j.size() < kJournalHeader || j[kJournalHeader - 1] != '\n' || !hex_field(j.substr(4, 16), gen)) return 0;
        pos = kJournalHeader;
    }
    auto torn = [&] {
        out.torn = true;
        return gen;
    };
    auto no_record = [&] { return v2 ? gen : torn(); };
    while (pos < j.size()) {
        std::size_t nl = j.find('\n', pos);
        if (nl == npos) return no_record();
        std::string_view head = j.substr(pos, nl - pos);   // "J <id> <length>" or "RM <id>"
        std::string_view fields;                           // format 2: what the crc covers after the bytes
        std::uint32_t crc = 0;
        if (v2) {   // head + " <generation> <crc>"
            std::size_t last = head.rfind(' ');
            if (last == npos || !hex_field(head.substr(last + 1), crc)) return gen;
            fields = head.substr(0, last);
            std::size_t gsp = fields.rfind(' ');
            std::uint64_t g = 0;
            if (gsp == npos || !hex_field(fields.substr(gsp + 1), g) || g != gen) return gen;   // an older generation
            head = fields.substr(0, gsp);
        }
        if (head.starts_with("RM ") && head.size() > 3 && (!v2 || head.find(' ', 3) == npos)) {
            if (v2 && crc_of(0, fields) != crc) return torn();
            out.removed.insert(std::string(head.substr(3)));
            ++out.records;
            pos = nl + 1;
            continue;
        }
        std::size_t sp = head.rfind(' ');
        std::uint64_t len = 0;
        if (!head.starts_with("J ") || sp <= 2 ||
            std::from_chars(head.data() + sp + 1, head.data() + head.size(), len).ec != std::errc{})
            return no_record();
        std::size_t start = nl + 1;
        if (len > j.size() - start || j.size() - start - len < 1 || j[start + len] != '\n') return torn();
        std::string_view bytes = j.substr(start, len);
        if (v2 && crc_of(crc_of(0, bytes), fields) != crc) return torn();
        out.copies[std::string(head.substr(2, sp - 2))] = std::string(bytes);
        ++out.records;
        pos = start + len + 1;
    }
    return gen;
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
        journal_fd_[i] = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (journal_fd_[i] < 0) return errno_error(errno, "open " + p.string());
    }
    if (auto r = replay_journals(); !r) return r;
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ignored)) {
        std::string name = entry.path().filename().string();
        if (is_queue_id(name) && name > newest_at_open_) newest_at_open_ = std::move(name);
    }
    flusher_ = std::thread([this] { flush_loop(); });
    checkpointer_ = std::thread([this] { checkpoint_loop(); });
    return Ok{};
}

Result<Ok> Spool::replay_journals() {
    JournalContent jc;
    std::uint64_t gen[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
        if (file_size(journal_fd_[i]) == 0) continue;
        auto content = read_file(dir_ / "journal" / std::to_string(i));
        if (!content) return Error{content.error().code, "read " + (dir_ / "journal" / std::to_string(i)).string() + ": " + content.error().message};
        gen[i] = parse_journal(*content, jc);
    }
    if (jc.records > 0 || jc.torn) {
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
            if (!w) return Error{w.error().code, "restore " + id + " from the journal: " + w.error().message};
            // Normal after a crash: a message in flight had its file written lazily (spool.hpp).
            log::info("spool.journal.restored", {{"id", id}, {"bytes", bytes.size()}});
            ++restored;
        }
        log::info("spool.journal.replayed", {{"records", jc.records}, {"restored", restored}, {"removed", removed}, {"torn_tail", jc.torn ? "yes" : "no"}});
        // Everything the journals vouched for is in its file now: make that durable before
        // the journals are emptied (a spool that cannot be made durable is not served).
        if (::syncfs(dir_fd_) != 0) return errno_error(errno, "sync the spool " + dir_.string());
    }
    for (int i = 0; i < 2; ++i) {
        generation_[i] = gen[i];
        if (auto r = reset_journal(i); !r) return r;
    }
    return Ok{};
}

Result<Ok> Spool::reset_journal(int i) {
    std::string header = journal_header(generation_[i] + 1);
    if (::pwrite(journal_fd_[i], header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()))
        return errno_error(errno ? errno : EIO, "write " + (dir_ / "journal" / std::to_string(i)).string());
    if (::fdatasync(journal_fd_[i]) != 0) return errno_error(errno, "sync " + (dir_ / "journal" / std::to_string(i)).string());
    ++generation_[i];
    journal_bytes_[i] = 0;
    allocated_[i] = std::max<std::uint64_t>(file_size(journal_fd_[i]), kJournalHeader);
    return Ok{};
}

int Spool::journal_append(std::string_view fields, const iovec* payload, int n, std::uint32_t payload_crc, bool copy) {
    std::lock_guard lock(journal_mutex_);
    const int j = active_;
    int fd = journal_fd_[j];
    if (fd < 0) return -1;
    char tail[64];
    std::snprintf(tail, sizeof tail, " %llx", static_cast<unsigned long long>(generation_[j]));
    std::string line(fields);
    line += tail;
    std::snprintf(tail, sizeof tail, " %08x\n", crc_of(payload_crc, line));
    line += tail;
    std::vector<iovec> iov{iov_of(line)};
    std::size_t bytes = line.size();
    for (int k = 0; k < n; ++k) {
        iov.push_back(payload[k]);
        bytes += payload[k].iov_len;
    }
    if (copy) {
        iov.push_back(iov_of("\n"));
        ++bytes;
    }
    // A write that fails part-way leaves a record whose crc does not match (the replay ends
    // there) and the position unchanged: the next record overwrites it.
    if (!pwritev_all(fd, std::move(iov), static_cast<off_t>(kJournalHeader + journal_bytes_[j]))) return -1;
    journal_bytes_[j] += bytes;
    allocated_[j] = std::max<std::uint64_t>(allocated_[j], kJournalHeader + journal_bytes_[j]);
    if (journal_bytes_[j] >= kCheckpointBytes || grow_wanted()) checkpoint_cv_.notify_one();
    return fd;
}

int Spool::journal_copy(const std::string& id, const iovec* parts, int n, std::size_t total, std::uint32_t crc) {
    return journal_append("J " + id + " " + std::to_string(total), parts, n, crc, true);
}

void Spool::journal_removal(const std::string& id) { journal_append("RM " + id, nullptr, 0, 0, false); }

void Spool::checkpoint_loop() {
    auto next = std::chrono::steady_clock::now() + kCheckpointEvery;
    while (true) {
        bool stop, grow;
        {
            std::unique_lock lock(journal_mutex_);
            checkpoint_cv_.wait_until(lock, next, [this] {
                return checkpoint_stop_ || journal_bytes_[active_] >= kCheckpointBytes || grow_wanted();
            });
            stop = checkpoint_stop_;
            grow = !stop && journal_bytes_[active_] < kCheckpointBytes && std::chrono::steady_clock::now() < next;
        }
        if (grow) {
            grow_journal();
            continue;
        }
        checkpoint();
        next = std::chrono::steady_clock::now() + kCheckpointEvery;
        if (stop) return;
    }
}

bool Spool::grow_wanted() const {
    // Once a journal is in real use, keep written (zeroed) blocks ahead of its end, so that
    // an append overwrites blocks the file has: its fdatasync then writes data only.
    const std::uint64_t end = kJournalHeader + journal_bytes_[active_];
    const std::uint64_t have = allocated_[active_];
    return journal_bytes_[active_] >= 64 * 1024 && have < kCheckpointBytes + kGrowMax && have - std::min(have, end) < have / 2;
}

void Spool::grow_journal() {
    static const std::string zeros(1 << 20, '\0');
    int j;
    std::uint64_t from, to;
    {
        std::lock_guard lock(journal_mutex_);
        j = active_;
        from = allocated_[j];
        to = from + std::clamp<std::uint64_t>(from, zeros.size(), kGrowMax);
    }
    // A piece at a time under the lock, and only where no record has been written yet:
    // appends that outran the growth extend the file themselves.
    std::uint64_t at = from;
    while (at < to) {
        std::lock_guard lock(journal_mutex_);
        if (kJournalHeader + journal_bytes_[j] > at) break;
        if (::pwrite(journal_fd_[j], zeros.data(), zeros.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(zeros.size())) break;
        at += zeros.size();
    }
    if (at > from && ::fdatasync(journal_fd_[j]) == 0) {
        std::lock_guard lock(journal_mutex_);
        allocated_[j] = std::max(allocated_[j], at);
    } else {
        // No room (or an error): stop asking until the journal is emptied again.
        std::lock_guard lock(journal_mutex_);
        allocated_[j] = std::max(allocated_[j], kCheckpointBytes + kGrowMax);
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
    // Every message with a copy in `old` has its file written now (or was removed): the
    // ones still in memory are written first (each entered the map before its record
    // reached a journal). Each such file was written by write_unwritten(), here or earlier
    // (an append()), and listed there: syncing those files and the directory (creations
    // and removals) makes them durable, and the journal's copies are no longer needed.
    if (auto w = settle_all(); !w) {
        log::error("spool.checkpoint.failed", {{"error", w.error().message}, {"action", "journal kept; retried"}});
        return;
    }
    std::vector<std::string> written;
    {
        std::lock_guard lock(unwritten_mutex_);
        written.swap(written_since_checkpoint_);
    }
    if (auto synced = sync_files(written); !synced) {
        log::error("spool.checkpoint.failed", {{"error", synced.error().message}, {"action", "journal kept; retried"}});
        std::lock_guard lock(unwritten_mutex_);
        written_since_checkpoint_.insert(written_since_checkpoint_.end(), written.begin(), written.end());
        return;
    }
    std::lock_guard lock(journal_mutex_);
    if (auto r = reset_journal(old); !r)
        log::error("spool.checkpoint.failed", {{"error", r.error().message}, {"action", "journal kept; retried"}});
}

Result<Ok> Spool::sync_files(const std::vector<std::string>& ids) {
    last_checkpoint_files_ = 0;
    if (ids.size() <= kSyncEachMax) {
        std::size_t n = 0;
        bool opened = true;
        for (const std::string& id : ids) {
            const std::filesystem::path path = dir_ / id;
            int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                if (errno == ENOENT) continue;   // removed since: delivered, nothing to keep
                opened = false;                  // no descriptor to spare, say: syncfs below
                break;
            }
            // A failed fsync is not retried through syncfs (the failed pages may already
            // count as written): the journal is kept and the next checkpoint tries again.
            int err = ::fsync(fd) == 0 ? 0 : errno;
            ::close(fd);
            if (err != 0) return errno_error(err, "sync " + path.string());
            ++n;
        }
        if (opened) {
            if (::fsync(dir_fd_) != 0) return errno_error(errno, "sync " + dir_.string());
            last_checkpoint_files_ = n;
            return Ok{};
        }
    }
    if (::syncfs(dir_fd_) != 0) return errno_error(errno, "syncfs " + dir_.string());
    return Ok{};
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
    std::vector<int> file_err;
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
        std::size_t files = 0;
        for (const Pending& p : batch) {
            if (!p.journal) ++files;
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
            if (link_count(jfd[i]) == 0) jerr[i] = ENOENT;
        }
        // Files: each one and the directory (their entries), up to kSyncEachMax of them;
        // beyond, one syncfs covers them all (it writes out every dirty page of the file
        // system, other programs' too, so it is kept for large batches), and if it fails,
        // each one after all, reported per file.
        const bool each = files > 0 && (files <= kSyncEachMax || ::syncfs(dir_fd_) != 0);
        file_err.assign(batch.size(), 0);
        int dir_err = 0;
        if (each) {
            for (std::size_t k = 0; k < batch.size(); ++k)
                if (!batch[k].journal && ::fsync(batch[k].fd) != 0) file_err[k] = errno;
            if (::fsync(dir_fd_) != 0) dir_err = errno;
        }
        for (std::size_t k = 0; k < batch.size(); ++k) {
            Pending& p = batch[k];
            if (p.journal) p.done(p.fd == jfd[0] ? jerr[0] : jerr[1]);
            else p.done(file_err[k] != 0 ? file_err[k] : dir_err);   // all 0 after a syncfs
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
    Result<Ok> w = pwritev_all(fd, parts, 0);   // one system call, whatever the parts
    if (w) cache_put(env.id, head, body);   // before copied(): `body` may go away then
    int err = 0;
    if (w && total <= kJournalMax) {
        // The copy in the journal, written after the file, is what makes the 250 safe.
        std::uint32_t crc = 0;
        for (const iovec& v : parts) crc = crc_of(crc, {static_cast<const char*>(v.iov_base), v.iov_len});
        int jfd = journal_copy(env.id, parts.data(), static_cast<int>(parts.size()), total, crc);
        if (copied) copied();
        err = jfd >= 0 ? co_await wait_durable(jfd, true) : co_await wait_durable(fd);
        if (err != 0 && jfd >= 0) journal_removal(env.id);   // answered 452: a replay must not bring it back
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
    const std::uint32_t crc = crc_of(0, u.bytes);   // outside the lock below
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
        iovec bytes = iov_of(it->second.bytes);
        jfd = journal_copy(env.id, &bytes, 1, total, crc);
    }
    int err;
    if (jfd >= 0) {
        err = co_await wait_durable(jfd, true);
        if (err != 0) journal_removal(env.id);   // answered 452: a replay must not bring it back (the client sends it again)
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
    Result<Ok> w = pwritev_all(fd, {iov_of(it->second.bytes)}, 0);
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
    written_since_checkpoint_.push_back(id);   // the checkpoint syncs it before it drops the journal copy
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
    journal_removal(id);
    forget(id);
    cache_drop(id);
}

}  // namespace rampart::queue
