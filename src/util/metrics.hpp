// util/metrics.hpp — counters, gauges and histograms with labels, and their rendering in the
// Prometheus text exposition format (version 0.0.4), for the admin listener's /metrics.
// Trust: names and help texts come from the code; label values may come from the
// configuration or a peer (a rule name, an agent name) and are escaped when rendered.
// Contract: updating a series is lock-free (relaxed atomics): a caller that updates the same
// series often gets it once with Family::with() and keeps the reference; series live as long
// as their registry and are never removed. with() itself takes a shared lock to find an
// existing series (an exclusive one only to create it). A scrape reads each atomic once; a
// histogram's buckets, count and sum may be a few observations apart, never inconsistent in
// a way that breaks the format (count is the +Inf bucket).
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::metrics {

class Counter {
public:
    void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

class Gauge {
public:
    void set(std::int64_t v) { v_.store(v, std::memory_order_relaxed); }
    void add(std::int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
    std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> v_{0};
};

// Buckets are upper bounds, ascending; +Inf is implicit.
class Histogram {
public:
    explicit Histogram(const std::vector<double>& bounds);
    void observe(double v);
    const std::vector<double>& bounds() const { return bounds_; }
    // Cumulative counts per bound, then +Inf (= count); and the sum.
    std::vector<std::uint64_t> cumulative() const;
    double sum() const { return sum_.load(std::memory_order_relaxed); }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;   // bounds_.size() + 1 (the last: above every bound)
    std::atomic<double> sum_{0};
};

enum class Type { Counter, Gauge, Histogram };

// One metric name with its label names; one series per distinct list of label values.
template <class M>
class Family {
public:
    Family(std::vector<std::string> label_names, std::vector<double> bounds = {})
        : labels_(std::move(label_names)), bounds_(std::move(bounds)) {}

    // The series for these label values (as many as label names), created on first use.
    M& with(std::initializer_list<std::string_view> values);
    M& with(const std::vector<std::string>& values);

    const std::vector<std::string>& label_names() const { return labels_; }
    // Calls f(values, series) for every series, in label-value order.
    template <class F>
    void each(F&& f) const {
        std::shared_lock lock(mutex_);
        for (const auto& [values, series] : series_) f(values, *series);
    }

private:
    std::vector<std::string> labels_;
    std::vector<double> bounds_;
    mutable std::shared_mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<M>> series_;
};

// A gauge family computed at scrape time (e.g. the queue by state and destination): rows of
// label values and a value, rendered like a registered family.
struct Snapshot {
    std::string name;
    std::string help;
    std::vector<std::string> label_names;
    std::vector<std::pair<std::vector<std::string>, double>> rows;
};

class Registry {
public:
    // Registering a name twice returns the first family (the help, labels and buckets of the
    // later call must be the same; RAMPART_ASSERT checks the labels and type).
    Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> labels = {});
    Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
    Family<Histogram>& histogram(std::string name, std::string help, std::vector<double> bounds,
                                 std::vector<std::string> labels = {});

    // Every family in name order, then the snapshots (each should have a name not registered).
    std::string render(const std::vector<Snapshot>& snapshots = {}) const;

private:
    struct Entry {
        Type type;
        std::string help;
        std::unique_ptr<Family<Counter>> counter;
        std::unique_ptr<Family<Gauge>> gauge;
        std::unique_ptr<Family<Histogram>> histogram;
    };
    Entry& entry(std::string name, Type type, std::string help);

    mutable std::mutex mutex_;
    std::map<std::string, Entry> families_;
};

// The exposition format's escapes: label values (\\, \", \n) and help text (\\, \n).
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
// A sample value: shortest round-trip decimal, "+Inf", "-Inf", "NaN".
std::string format_value(double v);

// The running server's registry. Like the log sink, the one process-wide object (STYLE.md §2
// allows no other): every module only adds to it; only the admin listener reads it.
Registry& process();

}  // namespace rampart::metrics
