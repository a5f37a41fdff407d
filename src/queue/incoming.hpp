// queue/incoming.hpp — a message while it arrives (DATA or BDAT), before the spool commit.
// Bytes are appended to a bounded buffer; once it holds `spill_at` bytes they move to a
// temporary file data_dir/spool/incoming/<name>.tmp (O_EXCL, 0600), so a session holds
// O(buffer) memory whatever the message size (issue 14 item 4: 20 peers × 34 MiB of
// DATA took the server to ~1 GB). A message that ends before the buffer fills never
// touches the disk here (most mail: no extra file, the commit path is what it was).
// At end of data finish() gives the whole message as one std::string_view: the buffer, or
// a read-only mmap of the file (page cache, reclaimable; not counted against the heap).
// Trust: bytes a session decoded; never parses them.
// Contract: the temporary file is never acknowledged — durability comes only from
// Spool::commit(), which copies the view into the spool file and flushes it. reset() and
// the destructor remove the file; a crash leaves it as debris that Spool::recover()
// removes. A write error (disk full) is remembered, later bytes are dropped (the session
// keeps reading to the end of data) and finish() reports it: the caller answers 452 4.3.1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace rampart::queue {

class IncomingMessage {
public:
    // Enough to hold the typical message whole (the median mail is far smaller). The
    // buffer's capacity stays below 2 × (kSpillAt + one 64 KiB read), a few hundred KiB,
    // so even 1000 sessions mid-DATA hold a bounded few hundred MiB (unbounded before).
    static constexpr std::size_t kSpillAt = 128 * 1024;

    IncomingMessage() = default;
    ~IncomingMessage();
    IncomingMessage(const IncomingMessage&) = delete;
    IncomingMessage& operator=(const IncomingMessage&) = delete;

    // Starts a new message (dropping any previous one); a spill file, if needed, is created
    // in `dir` (which must exist: Spool::open() creates it).
    void start(std::filesystem::path dir, std::size_t spill_at = kSpillAt);
    bool started() const { return !dir_.empty(); }

    // The buffer to append to (smtp::DataReader::feed writes here); call spill() after.
    std::string& buffer() { return buf_; }
    // Moves the buffer to the file once it holds spill_at bytes or more.
    void spill();
    // The next spill() would create the file (the caller leases its descriptor first).
    bool wants_file() const { return !error_ && fd_ < 0 && !buf_.empty() && buf_.size() >= spill_at_; }
    // No file may be made (no descriptor was free in time): like a write error, later bytes
    // are dropped and finish() reports `e`.
    void give_up(Error e) { fail(std::move(e)); }
    // buffer().append(bytes) then spill() (BDAT chunks).
    void append(std::string_view bytes);

    // Message bytes so far (file + buffer; bytes dropped after an error are not counted).
    std::uint64_t size() const { return written_ + buf_.size(); }
    // True once the message is in a file (it outgrew the buffer).
    bool spilled() const { return fd_ >= 0; }
    const std::filesystem::path& file() const { return path_; }

    // End of data: the whole message, valid until reset(), start() or destruction. The
    // first write or mmap error, if any, instead (errno and path, for the log only).
    Result<std::string_view> finish();

    // Drops the message: file removed, mapping and buffer released (an idle session keeps
    // no message memory).
    void reset();

private:
    void fail(Error e);

    std::filesystem::path dir_;
    std::size_t spill_at_ = kSpillAt;
    std::string buf_;
    int fd_ = -1;
    std::filesystem::path path_;
    std::uint64_t written_ = 0;
    std::optional<Error> error_;
    void* map_ = nullptr;
    std::size_t map_len_ = 0;
};

// Removes every file left in an incoming directory (crash debris: never acknowledged);
// returns how many, and their bytes.
struct IncomingDebris {
    std::size_t files = 0;
    std::uint64_t bytes = 0;
};
IncomingDebris remove_incoming_debris(const std::filesystem::path& dir);

}  // namespace rampart::queue
