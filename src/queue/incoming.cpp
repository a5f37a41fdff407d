// queue/incoming.cpp — the arriving message: bounded buffer, spill file, mmap (see
// incoming.hpp).
#include "queue/incoming.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/spool.hpp"
#include "util/file_io.hpp"

namespace rampart::queue {

IncomingMessage::~IncomingMessage() { reset(); }

void IncomingMessage::start(std::filesystem::path dir, std::size_t spill_at) {
    reset();
    dir_ = std::move(dir);
    spill_at_ = spill_at;
}

void IncomingMessage::fail(Error e) {
    if (!error_) error_ = std::move(e);
    std::string().swap(buf_);
}

void IncomingMessage::spill() {
    if (error_) {
        buf_.clear();
        return;
    }
    if (buf_.size() < spill_at_ || buf_.empty()) return;
    if (fd_ < 0) {
        for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
            path_ = dir_ / (new_queue_id() + ".tmp");
            fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd_ < 0 && errno != EEXIST) {
                int e = errno;
                path_.clear();
                return fail(errno_error(e, "create " + (dir_ / "*.tmp").string()));
            }
        }
        if (fd_ < 0) {
            path_.clear();
            return fail(Error{EEXIST, "no free name in " + dir_.string()});
        }
    }
    if (Result<Ok> w = util::write_all(fd_, buf_); !w) return fail(Error{w.error().code, w.error().message + " " + path_.string()});
    written_ += buf_.size();
    buf_.clear();
}

void IncomingMessage::append(std::string_view bytes) {
    if (error_) return;
    buf_.append(bytes);
    spill();
}

Result<std::string_view> IncomingMessage::finish() {
    if (!error_ && fd_ < 0) return std::string_view(buf_);
    if (!error_ && !buf_.empty()) {
        if (Result<Ok> w = util::write_all(fd_, buf_); !w) fail(Error{w.error().code, w.error().message + " " + path_.string()});
        else written_ += buf_.size();
        std::string().swap(buf_);
    }
    if (error_) return *error_;
    if (map_ == nullptr && written_ > 0) {
        void* p = ::mmap(nullptr, static_cast<std::size_t>(written_), PROT_READ, MAP_SHARED, fd_, 0);
        if (p == MAP_FAILED) {
            fail(errno_error(errno, "mmap " + path_.string()));
            return *error_;
        }
        // Read once, front to back (the checks, then the copy into the spool file).
        ::madvise(p, static_cast<std::size_t>(written_), MADV_SEQUENTIAL);
        map_ = p;
        map_len_ = static_cast<std::size_t>(written_);
    }
    return std::string_view(static_cast<const char*>(map_), map_len_);
}

void IncomingMessage::reset() {
    if (map_ != nullptr) ::munmap(map_, map_len_);
    map_ = nullptr;
    map_len_ = 0;
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    fd_ = -1;
    path_.clear();
    written_ = 0;
    error_.reset();
    std::string().swap(buf_);
    dir_.clear();
}

IncomingDebris remove_incoming_debris(const std::filesystem::path& dir) {
    IncomingDebris d;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file(ec)) continue;
        std::uint64_t bytes = entry.file_size(ec);
        if (::unlink(entry.path().c_str()) == 0) {
            ++d.files;
            d.bytes += ec ? 0 : bytes;
        }
    }
    return d;
}

}  // namespace rampart::queue
