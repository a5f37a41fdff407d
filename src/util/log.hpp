// util/log.hpp — structured, one-line-per-event logging (logfmt: key=value).
// Contract: every event has a stable name ("smtp.transaction", "delivery.attempt"), is
// written atomically as one line to the log sink, and bumps a counter of that name.
// Values are quoted when needed; control characters, C1 and bidi controls and ill-formed
// UTF-8 are escaped (util::display_escape) so a peer can neither forge log lines nor
// reach the terminal of whoever reads the log, and no value is longer than kMaxValue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "util/result.hpp"

namespace rampart::log {

enum class Level { Debug, Info, Warning, Error };

struct Field {
    std::string_view key;
    std::string value;
    Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const char* v) : key(k), value(v) {}
    template <class N>
        requires std::is_arithmetic_v<N>
    Field(std::string_view k, N n) : key(k), value(std::to_string(n)) {}
};

// Writes `ts=... level=... event=NAME k=v ...` to the sink (stderr by default).
void event(Level level, std::string_view name, std::initializer_list<Field> fields);
inline void info(std::string_view name, std::initializer_list<Field> fields) {
    event(Level::Info, name, fields);
}
inline void warn(std::string_view name, std::initializer_list<Field> fields) {
    event(Level::Warning, name, fields);
}
inline void error(std::string_view name, std::initializer_list<Field> fields) {
    event(Level::Error, name, fields);
}

// Events below this level are counted but not written.
void set_min_level(Level level);
// While one is alive, events below Warning from this thread are dropped entirely (not
// counted, not observed, not written): the console's explain imagines a session inside the
// server, and its verdicts must not look like real ones in the log or the tracking store.
class QuietScope {
public:
    QuietScope();
    ~QuietScope();
    QuietScope(const QuietScope&) = delete;
    QuietScope& operator=(const QuietScope&) = delete;
};
// True while a QuietScope is alive on this thread: what such a session does is not
// observed in the metrics either.
bool quiet();
// Append log lines to this file instead of stderr (opened O_APPEND). Empty: stderr.
bool set_file(const std::string& path);
// Opens the file set_file() named again, by name (SIGUSR1, after logrotate renamed it), and
// writes every later line there. Nothing to do when logging to standard error.
Result<Ok> reopen_file();

// Snapshot of the per-event counters.
std::map<std::string, std::uint64_t> counters();

// The longest value written as is; a longer one is cut and says how many bytes it lost.
inline constexpr std::size_t kMaxValue = 4096;

// Quotes and escapes one logfmt value (exposed for tests); cut at kMaxValue bytes.
std::string format_value(std::string_view value);

}  // namespace rampart::log
