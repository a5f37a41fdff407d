// delivery/maildir.cpp — Maildir writer (https://cr.yp.to/proto/maildir.html naming).
#include "delivery/maildir.hpp"

#include "util/file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

namespace rampart::delivery {

using util::fsync_dir;
using util::write_all;

namespace {

std::string safe_name(std::string_view s) {
    std::string out;
    for (char c : s) {
        char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out += (l == '/' || l == '\0') ? '_' : l;
    }
    if (out.empty() || out.front() == '.') out.insert(out.begin(), '_');
    return out;
}

}  // namespace

std::string folder_name(std::string_view name) { return safe_name(name); }

std::filesystem::path maildir_path(const std::filesystem::path& root, std::string_view domain, std::string_view local) {
    return root / safe_name(domain) / safe_name(local);
}

Result<std::string> deliver_to_maildir(const std::filesystem::path& md, std::string_view sender, std::string_view recipient,
                                       std::string_view message, const std::string& hostname) {
    static std::atomic<std::uint64_t> counter{0};
    std::error_code ec;
    for (const char* sub : {"tmp", "new", "cur"}) {
        std::filesystem::create_directories(md / sub, ec);
        if (ec) return Error{ec.value(), "create " + (md / sub).string() + ": " + ec.message()};
    }
    auto now = std::chrono::system_clock::now().time_since_epoch();
    auto sec = std::chrono::duration_cast<std::chrono::seconds>(now).count();
    auto usec = std::chrono::duration_cast<std::chrono::microseconds>(now).count() % 1000000;
    std::string name = std::to_string(sec) + ".M" + std::to_string(usec) + "P" + std::to_string(::getpid()) + "Q" +
                       std::to_string(counter.fetch_add(1)) + "." + safe_name(hostname);
    std::filesystem::path tmp = md / "tmp" / name, dst = md / "new" / name;
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return errno_error(errno, "create " + tmp.string());
    std::string head = "Return-Path: <" + std::string(sender) + ">\r\nDelivered-To: " + std::string(recipient) + "\r\n";
    Result<Ok> w = write_all(fd, head);
    if (w) w = write_all(fd, message);
    if (w && ::fsync(fd) != 0) w = errno_error(errno, "fsync " + tmp.string());
    ::close(fd);
    if (w && ::rename(tmp.c_str(), dst.c_str()) != 0) w = errno_error(errno, "rename to " + dst.string());
    if (w) w = fsync_dir(md / "new");
    if (!w) {
        ::unlink(tmp.c_str());
        return w.error();
    }
    return name;
}

}  // namespace rampart::delivery
