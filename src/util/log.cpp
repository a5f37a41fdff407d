// util/log.cpp — the log sink and event counters. Thread-safe; one write(2) per line so
// concurrent lines never interleave.
#include "util/log.hpp"
#include "util/log_observer.hpp"
#include "util/text.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <ctime>
#include <mutex>

namespace rampart::log {
namespace {

std::mutex g_mutex;
std::map<std::string, std::uint64_t, std::less<>> g_counters;
std::atomic<int> g_fd{2};
std::string g_path;   // the log file's name (reopen_file); empty: standard error
std::mutex g_path_mutex;
std::atomic<Level> g_min{Level::Info};
std::atomic<Observer*> g_observer{nullptr};

std::string_view level_name(Level l) {
    switch (l) {
        case Level::Debug: return "debug";
        case Level::Info: return "info";
        case Level::Warning: return "warning";
        case Level::Error: return "error";
    }
    return "info";
}

// Appends "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) to `out`. The part up to the seconds is
// formatted once per second per thread (strftime and snprintf per line were ~15,000
// instructions per message, issue 13); the milliseconds are three digits appended.
void append_timestamp(std::string& out) {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto ms_total = duration_cast<milliseconds>(now.time_since_epoch()).count();
    std::int64_t secs = ms_total / 1000;
    int ms = static_cast<int>(ms_total % 1000);
    if (ms < 0) ms += 1000, --secs;   // before 1970: not expected, kept correct
    thread_local std::int64_t cached_secs = -1;
    thread_local char cached[32];
    thread_local std::size_t cached_len = 0;
    if (secs != cached_secs) {
        std::time_t t = static_cast<std::time_t>(secs);
        std::tm tm{};
        gmtime_r(&t, &tm);
        cached_len = std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_secs = secs;
    }
    out.append(cached, cached_len);
    char tail[6] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10), static_cast<char>('0' + ms % 10), 'Z', 0};
    out.append(tail, 5);
}

}  // namespace

namespace {
std::string escaped_value(std::string_view v);

// format_value() appended to `line`; printable ASCII (nearly every value) takes a path
// that makes no copy: display_escape() leaves it as it is, apart from the backslash.
void append_value(std::string& line, std::string_view v) {
    bool plain = v.size() <= kMaxValue, quote = v.empty();
    for (char ch : v) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7f) {
            plain = false;
            break;
        }
        if (c == ' ' || c == '"' || c == '=' || c == '\\') quote = true;
    }
    if (!plain) {
        line += escaped_value(v);
        return;
    }
    if (!quote) {
        line += v;
        return;
    }
    line += '"';
    for (char c : v) {
        if (c == '\\') line += "\\\\";
        else if (c == '"') line += "\\\"";
        else line += c;
    }
    line += '"';
}

std::string escaped_value(std::string_view v) {
    // A peer chooses many values (an EHLO argument, an address, a next hop's reply): one
    // value never makes a line longer than kMaxValue bytes before escaping.
    std::string cut;
    if (v.size() > kMaxValue) {
        std::size_t keep = kMaxValue;
        while (keep > 0 && (static_cast<unsigned char>(v[keep]) & 0xC0) == 0x80) --keep;   // whole UTF-8 sequences
        cut.assign(v.substr(0, keep));
        cut += "...[" + std::to_string(v.size() - keep) + " more bytes]";
        v = cut;
    }
    bool quote = v.empty();
    for (unsigned char c : v)
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) quote = true;
    if (!quote) return std::string(v);
    // Controls, C1 and bidi controls and ill-formed UTF-8 are escaped (util/text.hpp), so
    // neither a forged line nor a terminal escape can come from a value.
    std::string out = "\"";
    for (char c : util::display_escape(v)) {
        if (c == '"') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}
}  // namespace

std::string format_value(std::string_view v) {
    std::string out;
    append_value(out, v);
    return out;
}

namespace {
thread_local int t_quiet = 0;
}  // namespace

QuietScope::QuietScope() { ++t_quiet; }
QuietScope::~QuietScope() { --t_quiet; }
bool quiet() { return t_quiet > 0; }

void event(Level level, std::string_view name, std::initializer_list<Field> fields) {
    if (quiet() && level < Level::Warning) return;
    {
        std::lock_guard lock(g_mutex);
        auto it = g_counters.find(name);
        if (it == g_counters.end()) g_counters.emplace(std::string(name), 1);
        else ++it->second;
    }
    if (Observer* o = g_observer.load(std::memory_order_acquire)) o->on_event(name, fields);
    if (level < g_min.load(std::memory_order_relaxed)) return;
    std::string line;
    line.reserve(512);
    line += "ts=";
    append_timestamp(line);
    line += " level=";
    line += level_name(level);
    line += " event=";
    line += name;
    for (const Field& f : fields) {
        line += ' ';
        line += f.key;
        line += '=';
        append_value(line, f.value);
    }
    line += '\n';
    int fd = g_fd.load();
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n <= 0) break;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

void set_min_level(Level level) { g_min = level; }

void set_observer(Observer* observer) { g_observer.store(observer, std::memory_order_release); }

bool set_file(const std::string& path) {
    if (path.empty()) {
        std::lock_guard lock(g_path_mutex);
        g_fd = 2;   // the file's descriptor stays open: a line may be being written to it
        g_path.clear();
        return true;
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return false;
    std::lock_guard lock(g_path_mutex);
    int cur = g_fd.load();
    if (cur > 2) {   // a file already: swap what its number refers to (see reopen_file)
        int r = ::dup3(fd, cur, O_CLOEXEC);
        ::close(fd);
        if (r < 0) return false;
    } else g_fd = fd;
    g_path = path;
    return true;
}

Result<Ok> reopen_file() {
    std::lock_guard lock(g_path_mutex);
    if (g_path.empty()) return Ok{};
    int fd = ::open(g_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return Error{errno, g_path + ": " + std::strerror(errno)};
    // dup2 swaps what the descriptor number refers to in one step: a line being written on
    // another thread goes wholly to the old file or wholly to the new one.
    int cur = g_fd.load();
    int r = ::dup3(fd, cur, O_CLOEXEC);
    int err = errno;
    ::close(fd);
    if (r < 0) return Error{err, g_path + ": " + std::strerror(err)};
    return Ok{};
}

std::map<std::string, std::uint64_t> counters() {
    std::lock_guard lock(g_mutex);
    return {g_counters.begin(), g_counters.end()};
}

}  // namespace rampart::log
