// queue/spool.cpp — the durable spool; the only writer of data_dir/spool.
// Contract: commit() completes only after syncfs (or fsync of the file and directory)
// returned success for a batch that includes this file.
#include "queue/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "queue/incoming.hpp"
#include "queue/spool_format.hpp"
#include "util/file_io.hpp"
#include "util/log.hpp"

namespace rampart::queue {
using util::read_file;
using util::write_all;

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
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    if (flusher_.joinable()) flusher_.join();
    if (dir_fd_ >= 0) ::close(dir_fd_);
}

Result<Ok> Spool::open() {
    std::error_code ec;
    std::filesystem::create_directories(incoming_dir(), ec);
    if (ec) return Error{ec.value(), "create " + incoming_dir().string() + ": " + ec.message()};
    dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) return errno_error(errno, "open " + dir_.string());
    flusher_ = std::thread([this] { flush_loop(); });
    return Ok{};
}

void Spool::enqueue(int fd, std::function<void(int)> done) {
    {
        std::lock_guard lock(mutex_);
        pending_.push_back({fd, std::move(done)});
    }
    cv_.notify_one();
}

void Spool::flush_loop() {
    std::vector<Pending> batch;
    while (true) {
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
            if (pending_.empty() && stop_) return;
            batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
            pending_.clear();
        }
        // One syncfs covers every file of the batch, their directory entries included.
        int err = ::syncfs(dir_fd_) == 0 ? 0 : errno;
        if (err != 0) {
            // Fall back to per-file fsync plus one directory fsync; report per file.
            for (Pending& p : batch) {
                int e = ::fsync(p.fd) == 0 ? 0 : errno;
                if (e == 0 && ::fsync(dir_fd_) != 0) e = errno;
                p.done(e);
            }
        } else {
            for (Pending& p : batch) p.done(0);
        }
        batch.clear();
    }
}

asio::awaitable<int> Spool::wait_durable(int fd) {
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(int)>(
        [this, fd](auto handler) {
            auto ex = asio::get_associated_executor(handler);
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            enqueue(fd, [h, ex](int err) { asio::post(ex, [h, err]() mutable { (*h)(err); }); });
        },
        asio::use_awaitable);
}

asio::awaitable<Result<std::string>> Spool::commit(Envelope env, std::string_view head, std::string_view body,
                                                   std::string_view records, std::function<void()> copied) {
    int fd = -1;
    std::filesystem::path path;
    for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
        if (env.id.empty() || attempt > 0) env.id = new_queue_id();
        path = dir_ / env.id;
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) co_return errno_error(errno, "create " + path.string());
    }
    if (fd < 0) co_return Error{EEXIST, "no free queue id in " + dir_.string()};
    env.size = head.size() + body.size();
    std::string header = encode_header(env);
    Result<Ok> w = write_all(fd, header);
    if (w) w = write_all(fd, head);
    if (w) w = write_all(fd, body);
    if (w) w = write_all(fd, kEndRecord);
    if (w && !env.principal.empty()) w = write_all(fd, encode_principal(env));
    if (w && !records.empty()) w = write_all(fd, records);
    if (copied) copied();   // even if a write failed: the caller answers 452 and drops it
    int err = 0;
    if (w) err = co_await wait_durable(fd);
    ::close(fd);
    if (!w || err != 0) {
        ::unlink(path.c_str());
        co_return !w ? w.error() : errno_error(err, "sync " + path.string());
    }
    co_return env.id;
}

asio::awaitable<Result<Ok>> Spool::mark_done(const std::string& id, std::vector<std::size_t> indices) {
    std::string records;
    for (std::size_t i : indices) records += encode_done(i);
    co_return co_await append(id, std::move(records));
}

asio::awaitable<Result<Ok>> Spool::append(const std::string& id, std::string records) {
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

Result<std::string> Spool::read_message(const std::string& id) const {
    auto content = read_file(dir_ / id);
    if (!content) return content.error();
    auto parsed = parse_spool_file(*content);
    if (!parsed) return Error{0, "spool file " + (dir_ / id).string() + " is malformed"};
    return content->substr(parsed->message_offset, parsed->envelope.size);
}

Result<Envelope> Spool::read_envelope(const std::string& id) const {
    auto content = read_file(dir_ / id);
    if (!content) return content.error();
    auto parsed = parse_spool_file(*content);
    if (!parsed) return Error{0, "spool file " + (dir_ / id).string() + " is malformed"};
    return std::move(parsed->envelope);
}

void Spool::remove(const std::string& id) { ::unlink((dir_ / id).c_str()); }

}  // namespace rampart::queue
