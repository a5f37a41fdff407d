// session/back_pressure.hpp — the live back-pressure state (issue 9): measures the spool's
// file system (statvfs of data_dir: free space and free inodes) and takes the queue's length
// from the scheduler, keeps the pressure level (policy/back_pressure.hpp, with hysteresis)
// and answers sessions at MAIL FROM.
// Cheap by construction: a statvfs is one system call; it runs on the owner's periodic
// sample and after spool commits at most every kMinDiskInterval. Every level change is
// logged (`back_pressure.state`, with the numbers) and counted.
// Thread-safe: sessions on every I/O thread read, the owner's timer and commits write.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>

#include "config/config.hpp"
#include "policy/back_pressure.hpp"

namespace rampart::session {

// Free space and inodes of the file system holding `dir`, in percent (nullopt: unknown).
policy::PressureMeasure measure_disk(const std::filesystem::path& dir);

class BackPressure {
public:
    static constexpr std::chrono::milliseconds kMinDiskInterval{200};

    BackPressure(config::BackPressureSettings settings, std::filesystem::path data_dir)
        : settings_(settings), dir_(std::move(data_dir)) {}

    // The periodic sample (the owner calls it every second or so, on the scheduler's
    // thread): the queue's length as the scheduler knows it, and the disk.
    void sample(std::uint64_t queue_messages);
    // A message was committed: the queue grew by one, and the disk is measured again if
    // the last measurement is older than kMinDiskInterval.
    void committed();
    // A test or explain may set the numbers directly.
    void apply(const policy::PressureMeasure& m);

    policy::PressureState state() const;
    policy::PressureVerdict decide(const policy::Principal& p) const;
    const config::BackPressureSettings& settings() const { return settings_; }

    // For the metrics endpoint: MAIL FROMs delayed and refused, and level changes.
    std::uint64_t tarpitted() const { return tarpitted_.load(); }
    std::uint64_t refused() const { return refused_.load(); }
    std::uint64_t changes() const { return changes_.load(); }
    void count(const policy::PressureVerdict& v);

private:
    void apply_locked(const policy::PressureMeasure& m);

    config::BackPressureSettings settings_;
    std::filesystem::path dir_;
    mutable std::mutex mu_;
    policy::PressureState state_;
    std::chrono::steady_clock::time_point last_disk_{};
    std::atomic<std::uint64_t> tarpitted_{0}, refused_{0}, changes_{0};
};

}  // namespace rampart::session
