// util/file_io.cpp — see file_io.hpp.
#include "util/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rampart::util {

Result<Ok> write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "write");
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return Ok{};
}

Result<std::string> read_file(const std::filesystem::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_error(errno, "open " + p.string());
    std::string out;
    struct stat st {};
    if (::fstat(fd, &st) == 0) out.reserve(static_cast<std::size_t>(st.st_size));
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            return errno_error(e, "read " + p.string());
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

Result<Ok> fsync_dir(const std::filesystem::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_error(errno, "open " + dir.string());
    int rc = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0) return errno_error(e, "fsync " + dir.string());
    return Ok{};
}

Result<Ok> write_file_atomic(const std::filesystem::path& path, std::string_view data, unsigned mode) {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd < 0) return errno_error(errno, "open " + tmp.string());
    auto w = write_all(fd, data);
    if (w && ::fsync(fd) != 0) w = errno_error(errno, "fsync " + tmp.string());
    ::close(fd);
    if (w && ::rename(tmp.c_str(), path.c_str()) != 0) w = errno_error(errno, "rename " + tmp.string() + " to " + path.string());
    if (!w) {
        ::unlink(tmp.c_str());
        return w;
    }
    std::filesystem::path dir = path.parent_path();
    return fsync_dir(dir.empty() ? std::filesystem::path(".") : dir);
}

}  // namespace rampart::util
