// policy/back_pressure.cpp — pressure levels with hysteresis and the MAIL FROM verdict
// (see back_pressure.hpp). Pure.
#include "policy/back_pressure.hpp"

#include <algorithm>
#include <cstdio>

namespace rampart::policy {
namespace {

std::string percent_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", v);
    return buf;
}

// The level the disk is at: the lower of free space and free inodes against the watermarks.
// From `previous`, a level is kept until the free percentage is back above its watermark
// plus the margin.
PressureLevel disk_level(PressureLevel previous, const PressureMeasure& m, const config::BackPressureSettings& s) {
    std::optional<double> free;
    if (m.disk_free_percent) free = *m.disk_free_percent;
    if (m.inodes_free_percent) free = free ? std::min(*free, *m.inodes_free_percent) : *m.inodes_free_percent;
    if (!free) return previous;   // not measured: keep what we knew
    const double marks[] = {s.disk_free_tarpit, s.disk_free_refuse, s.disk_free_refuse_all};
    PressureLevel level = PressureLevel::Normal;
    for (int i = 0; i < 3; ++i) {
        double w = marks[i];
        if (w <= 0) continue;
        auto l = static_cast<PressureLevel>(i + 1);
        bool held = previous >= l && *free < w + disk_margin(w);   // not yet back past the margin
        if (*free < w || held) level = std::max(level, l);
    }
    return level;
}

PressureLevel queue_level(PressureLevel previous, std::uint64_t n, const config::BackPressureSettings& s) {
    const std::uint64_t marks[] = {s.queue_tarpit, s.queue_refuse, s.queue_refuse_all};
    PressureLevel level = PressureLevel::Normal;
    for (int i = 0; i < 3; ++i) {
        std::uint64_t w = marks[i];
        if (w == 0) continue;
        auto l = static_cast<PressureLevel>(i + 1);
        bool held = previous >= l && n + queue_margin(w) > w;   // leaves at n <= w - margin
        if (n >= w || held) level = std::max(level, l);
    }
    return level;
}

std::string_view disk_rule(PressureLevel l) {
    switch (l) {
        case PressureLevel::Tarpit: return "back_pressure.disk_free_tarpit";
        case PressureLevel::Refuse: return "back_pressure.disk_free_refuse";
        case PressureLevel::RefuseAll: return "back_pressure.disk_free_refuse_all";
        default: return "back_pressure";
    }
}

std::string_view queue_rule(PressureLevel l) {
    switch (l) {
        case PressureLevel::Tarpit: return "back_pressure.queue_tarpit";
        case PressureLevel::Refuse: return "back_pressure.queue_refuse";
        case PressureLevel::RefuseAll: return "back_pressure.queue_refuse_all";
        default: return "back_pressure";
    }
}

}  // namespace

std::string_view pressure_level_name(PressureLevel l) {
    switch (l) {
        case PressureLevel::Normal: return "normal";
        case PressureLevel::Tarpit: return "tarpit";
        case PressureLevel::Refuse: return "refuse";
        case PressureLevel::RefuseAll: return "refuse_all";
    }
    return "normal";
}

std::string PressureState::describe() const {
    std::string out = "disk free ";
    out += measure.disk_free_percent ? percent_text(*measure.disk_free_percent) : std::string("unknown");
    if (measure.inodes_free_percent) out += " (inodes " + percent_text(*measure.inodes_free_percent) + ")";
    out += ", queue " + std::to_string(measure.queue_messages) + " messages";
    return out;
}

double disk_margin(double watermark) { return std::min(1.0, watermark / 4); }

std::uint64_t queue_margin(std::uint64_t watermark) { return std::max<std::uint64_t>(1, watermark / 10); }

PressureState next_pressure(const PressureState& previous, const PressureMeasure& m, const config::BackPressureSettings& s) {
    PressureState next;
    next.measure = m;
    if (!m.disk_free_percent && !m.inodes_free_percent) {   // keep the last known disk numbers
        next.measure.disk_free_percent = previous.measure.disk_free_percent;
        next.measure.inodes_free_percent = previous.measure.inodes_free_percent;
    }
    if (!s.enabled) return next;
    next.disk = disk_level(previous.disk, m, s);
    next.queue = queue_level(previous.queue, m.queue_messages, s);
    return next;
}

PressureVerdict decide_back_pressure(const PressureState& state, const Principal& principal, const config::BackPressureSettings& s) {
    PressureVerdict v;
    PressureLevel level = state.level();
    if (!s.enabled || level == PressureLevel::Normal) return v;
    // Authenticated users and organisation servers are throttled one level later.
    bool trusted = !principal.anonymous();
    PressureLevel effective = level;
    if (trusted && level != PressureLevel::RefuseAll) effective = static_cast<PressureLevel>(static_cast<int>(level) - 1);
    bool disk_decides = state.disk >= state.queue;
    v.rule = disk_decides ? disk_rule(level) : queue_rule(level);
    std::string who = trusted ? principal.text() : std::string("anonymous client");
    std::string why = std::string("back pressure level ") + std::string(pressure_level_name(level)) + ": " + state.describe();
    switch (effective) {
        case PressureLevel::Normal:
            v.reason = why + "; " + who + " not throttled at this level";
            return v;
        case PressureLevel::Tarpit:
            v.kind = s.tarpit.count() > 0 ? PressureVerdict::Kind::Tarpit : PressureVerdict::Kind::Pass;
            v.delay = s.tarpit;
            v.reason = why + "; " + who + " delayed " + std::to_string(s.tarpit.count()) + " ms";
            return v;
        case PressureLevel::Refuse:
        case PressureLevel::RefuseAll:
            v.kind = PressureVerdict::Kind::Refuse;
            v.reply = smtp::Reply(452, "4.3.1", "insufficient system resources; try again later");
            v.reason = why + "; " + who + " refused";
            return v;
    }
    return v;
}

Decision check_back_pressure(const SessionFacts& f, const config::BackPressureSettings& s, const std::optional<PressureState>& state,
                             Trace* trace) {
    Decision d;
    d.rule = "back_pressure";
    if (!s.enabled) d.note = "off";
    else if (!state) d.note = "live-only: the spool's disk and the queue's length are not known offline";
    else {
        PressureVerdict v = decide_back_pressure(*state, f.principal, s);
        d.rule = v.rule.empty() ? std::string_view("back_pressure") : v.rule;
        if (v.kind == PressureVerdict::Kind::Refuse) {
            d.verdict = Verdict::Refuse;
            d.reply = v.reply;
        }
        d.note = v.reason.empty() ? "normal (" + state->describe() + ", the running server's numbers)" : v.reason;
    }
    if (trace) trace->add(d.rule, d);
    return d;
}

}  // namespace rampart::policy
