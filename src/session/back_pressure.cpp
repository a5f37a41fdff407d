// session/back_pressure.cpp — the live back-pressure state (see back_pressure.hpp).
#include "session/back_pressure.hpp"

#include <sys/statvfs.h>

#include "util/log.hpp"

namespace rampart::session {

policy::PressureMeasure measure_disk(const std::filesystem::path& dir) {
    policy::PressureMeasure m;
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) return m;
    // f_bavail: what an unprivileged writer may still use (the root reserve is not ours).
    if (st.f_blocks > 0) m.disk_free_percent = 100.0 * static_cast<double>(st.f_bavail) / static_cast<double>(st.f_blocks);
    if (st.f_files > 0) m.inodes_free_percent = 100.0 * static_cast<double>(st.f_favail) / static_cast<double>(st.f_files);
    return m;
}

void BackPressure::sample(std::uint64_t queue_messages) {
    policy::PressureMeasure m = measure_disk(dir_);
    m.queue_messages = queue_messages;
    std::lock_guard lock(mu_);
    last_disk_ = std::chrono::steady_clock::now();
    apply_locked(m);
}

void BackPressure::committed() {
    std::lock_guard lock(mu_);
    policy::PressureMeasure m = state_.measure;
    ++m.queue_messages;   // the next periodic sample corrects it from the scheduler
    auto now = std::chrono::steady_clock::now();
    if (now - last_disk_ >= kMinDiskInterval) {
        policy::PressureMeasure d = measure_disk(dir_);
        m.disk_free_percent = d.disk_free_percent;
        m.inodes_free_percent = d.inodes_free_percent;
        last_disk_ = now;
    }
    apply_locked(m);
}

void BackPressure::apply(const policy::PressureMeasure& m) {
    std::lock_guard lock(mu_);
    apply_locked(m);
}

void BackPressure::apply_locked(const policy::PressureMeasure& m) {
    policy::PressureState next = policy::next_pressure(state_, m, settings_);
    bool changed = next.level() != state_.level() || next.disk != state_.disk || next.queue != state_.queue;
    if (changed) {
        ++changes_;
        auto f = [](std::optional<double> v) { return v ? std::to_string(*v) : std::string("unknown"); };
        log::event(next.level() > state_.level() ? log::Level::Warning : log::Level::Info, "back_pressure.state",
                   {{"level", policy::pressure_level_name(next.level())},
                    {"previous", policy::pressure_level_name(state_.level())},
                    {"disk", policy::pressure_level_name(next.disk)},
                    {"queue", policy::pressure_level_name(next.queue)},
                    {"disk_free_percent", f(next.measure.disk_free_percent)},
                    {"inodes_free_percent", f(next.measure.inodes_free_percent)},
                    {"queue_messages", next.measure.queue_messages}});
    }
    state_ = std::move(next);
}

policy::PressureState BackPressure::state() const {
    std::lock_guard lock(mu_);
    return state_;
}

policy::PressureVerdict BackPressure::decide(const policy::Principal& p) const {
    return policy::decide_back_pressure(state(), p, settings_);
}

void BackPressure::count(const policy::PressureVerdict& v) {
    if (v.kind == policy::PressureVerdict::Kind::Tarpit) ++tarpitted_;
    else if (v.kind == policy::PressureVerdict::Kind::Refuse) ++refused_;
}

}  // namespace rampart::session
