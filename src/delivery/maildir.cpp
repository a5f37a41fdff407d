// delivery/maildir.cpp — Maildir writer (https://cr.yp.to/proto/maildir.html naming).
#include "delivery/maildir.hpp"

#include "util/file_io.hpp"
#include "util/text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>

namespace rampart::delivery {

using util::fsync_dir;
using util::write_all;

namespace {

// One folder name per name, injective (two names never share a folder) and safe: lower
// case (addresses are matched case-insensitively, directory/mailbox.hpp); printable ASCII
// and well-formed UTF-8 except '/', '%' and '\\' kept; every other byte (controls, DEL,
// C1 and bidi controls, ill-formed UTF-8), '/', '%', '\\' and a leading '.' (".", "..",
// hidden files) as %HH. The empty name is "%", which no other name encodes to.
std::string safe_name(std::string_view s) {
    if (s.empty()) return "%";
    std::string in = util::ascii_lower(s);
    std::string_view v = in;
    std::string out;
    while (!v.empty()) {
        char32_t cp = 0;
        std::size_t n = util::utf8_sequence(v, cp);
        bool escape = n == 0 || util::is_unsafe_code_point(cp) || cp == '/' || cp == '%' || cp == '\\' ||
                      (out.empty() && cp == '.');
        n = std::max<std::size_t>(n, 1);   // an ill-formed byte: escaped on its own
        if (escape)
            for (std::size_t k = 0; k < n; ++k) util::append_hex_escape(out, '%', static_cast<unsigned char>(v[k]));
        else
            out.append(v.substr(0, n));
        v.remove_prefix(n);
    }
    return out;
}

// mkdir -p with mode 0700 for every directory it creates: folder names are recipient
// addresses, which other local users must not list (existing directories keep their mode).
Result<Ok> make_private_dirs(const std::filesystem::path& dir) {
    std::filesystem::path p;
    for (const auto& part : dir) {
        p /= part;
        if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) return errno_error(errno, "create " + p.string());
    }
    return Ok{};
}

}  // namespace

std::string folder_name(std::string_view name) { return safe_name(name); }

std::filesystem::path maildir_path(const std::filesystem::path& root, std::string_view domain, std::string_view local) {
    return root / safe_name(domain) / safe_name(local);
}

Result<std::string> deliver_to_maildir(const std::filesystem::path& md, std::string_view sender, std::string_view recipient,
                                       std::string_view message, const std::string& hostname) {
    static std::atomic<std::uint64_t> counter{0};
    for (const char* sub : {"tmp", "new", "cur"})
        if (Result<Ok> made = make_private_dirs(md / sub); !made) return made.error();
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
