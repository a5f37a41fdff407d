// policy/back_pressure.hpp — back pressure as values (issue 9): the spool's disk and the
// queue's length measured → a pressure level with hysteresis → per MAIL FROM a verdict
// (pass, tarpit, or 452 4.3.1) that depends on who the client is.
// Pure: no clock, no file system; session/back_pressure.hpp measures and keeps the state,
// the live session and `rampart explain` ask decide_back_pressure / check_back_pressure.
// Contract: anonymous clients are throttled first (tarpit at the first level, refused at
// the second); authenticated users and organisation servers are only delayed at the second
// level and refused at the critical one. A level is left only when the measure is back
// past its watermark by a margin (hysteresis), so the state does not flap.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "policy/access.hpp"
#include "policy/principal.hpp"
#include "smtp/reply.hpp"

namespace rampart::policy {

enum class PressureLevel { Normal = 0, Tarpit = 1, Refuse = 2, RefuseAll = 3 };
std::string_view pressure_level_name(PressureLevel l);   // "normal", "tarpit", "refuse", "refuse_all"

// One measurement. Disk values are percentages; nullopt: not measured (statvfs failed, or
// the file system has no inode count).
struct PressureMeasure {
    std::optional<double> disk_free_percent;
    std::optional<double> inodes_free_percent;
    std::uint64_t queue_messages = 0;
};

struct PressureState {
    PressureLevel disk = PressureLevel::Normal;
    PressureLevel queue = PressureLevel::Normal;
    PressureMeasure measure;   // the last measurement the levels were computed from
    PressureLevel level() const { return disk > queue ? disk : queue; }
    // "disk free 3.1% (inodes 40.0%), queue 12 messages"
    std::string describe() const;
};

// The hysteresis margins: a disk level is left when the free percentage is at least its
// watermark plus one percentage point (or plus a quarter of the watermark when that is
// smaller); a queue level when the count is at most its watermark less a tenth (at least
// one message).
double disk_margin(double watermark);
std::uint64_t queue_margin(std::uint64_t watermark);

// The next state from the previous one and a new measurement.
PressureState next_pressure(const PressureState& previous, const PressureMeasure& m, const config::BackPressureSettings& s);

struct PressureVerdict {
    enum class Kind { Pass, Tarpit, Refuse };
    Kind kind = Kind::Pass;
    std::chrono::milliseconds delay{0};   // Tarpit
    smtp::Reply reply;                    // Refuse: 452 4.3.1
    std::string_view rule;                // the watermark that decided: "back_pressure.queue_refuse"
    std::string reason;                   // for the log and explain
};

// What MAIL FROM gets from `principal` in `state`.
PressureVerdict decide_back_pressure(const PressureState& state, const Principal& principal, const config::BackPressureSettings& s);

// The same as an access Decision for explain: `state` nullopt is "live-only: not known offline".
Decision check_back_pressure(const SessionFacts& f, const config::BackPressureSettings& s, const std::optional<PressureState>& state,
                             Trace* trace = nullptr);

}  // namespace rampart::policy
