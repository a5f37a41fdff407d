// util/metrics.cpp — metric series, the registry and the Prometheus text rendering.
#include "util/metrics.hpp"

#include <charconv>
#include <cmath>

#include "util/assert.hpp"

namespace rampart::metrics {

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {
    for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
    std::size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;   // le: a value equal to a bound is in it
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative() const {
    std::vector<std::uint64_t> out(bounds_.size() + 1);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        total += buckets_[i].load(std::memory_order_relaxed);
        out[i] = total;
    }
    return out;
}

template <class M>
M& Family<M>::with(const std::vector<std::string>& values) {
    RAMPART_ASSERT(values.size() == labels_.size());
    {
        std::shared_lock lock(mutex_);
        if (auto it = series_.find(values); it != series_.end()) return *it->second;
    }
    std::unique_lock lock(mutex_);
    auto& slot = series_[values];
    if (!slot) {
        if constexpr (std::is_same_v<M, Histogram>) slot = std::make_unique<Histogram>(bounds_);
        else slot = std::make_unique<M>();
    }
    return *slot;
}

template <class M>
M& Family<M>::with(std::initializer_list<std::string_view> values) {
    std::vector<std::string> v;
    v.reserve(values.size());
    for (std::string_view s : values) v.emplace_back(s);
    return with(v);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Entry& Registry::entry(std::string name, Type type, std::string help) {
    auto [it, fresh] = families_.try_emplace(std::move(name));
    if (fresh) {
        it->second.type = type;
        it->second.help = std::move(help);
    }
    RAMPART_ASSERT(it->second.type == type);
    return it->second;
}

Family<Counter>& Registry::counter(std::string name, std::string help, std::vector<std::string> labels) {
    std::lock_guard lock(mutex_);
    Entry& e = entry(std::move(name), Type::Counter, std::move(help));
    if (!e.counter) e.counter = std::make_unique<Family<Counter>>(std::move(labels));
    else RAMPART_ASSERT(e.counter->label_names() == labels);
    return *e.counter;
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, std::vector<std::string> labels) {
    std::lock_guard lock(mutex_);
    Entry& e = entry(std::move(name), Type::Gauge, std::move(help));
    if (!e.gauge) e.gauge = std::make_unique<Family<Gauge>>(std::move(labels));
    else RAMPART_ASSERT(e.gauge->label_names() == labels);
    return *e.gauge;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help, std::vector<double> bounds,
                                       std::vector<std::string> labels) {
    std::lock_guard lock(mutex_);
    Entry& e = entry(std::move(name), Type::Histogram, std::move(help));
    if (!e.histogram) e.histogram = std::make_unique<Family<Histogram>>(std::move(labels), std::move(bounds));
    else RAMPART_ASSERT(e.histogram->label_names() == labels);
    return *e.histogram;
}

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

namespace {

// `{a="x",b="y"}` with an optional extra label (le) last; "" when there are no labels.
std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
    if (names.empty() && extra_name.empty()) return "";
    std::string out = "{";
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i) out += ',';
        out += names[i] + "=\"" + escape_label_value(values[i]) + "\"";
    }
    if (!extra_name.empty()) {
        if (!names.empty()) out += ',';
        out += std::string(extra_name) + "=\"" + escape_label_value(extra_value) + "\"";
    }
    return out + "}";
}

void head(std::string& out, const std::string& name, std::string_view help, std::string_view type) {
    out += "# HELP " + name + " " + escape_help(help) + "\n";
    out += "# TYPE " + name + " " + std::string(type) + "\n";
}

}  // namespace

std::string Registry::render(const std::vector<Snapshot>& snapshots) const {
    std::string out;
    std::lock_guard lock(mutex_);
    for (const auto& family : families_) {
        // Named, not structured bindings: clang 14 (the fuzz build) cannot capture those.
        const std::string& name = family.first;
        const auto& e = family.second;
        switch (e.type) {
        case Type::Counter:
            head(out, name, e.help, "counter");
            e.counter->each([&](const std::vector<std::string>& values, const Counter& c) {
                out += name + label_set(e.counter->label_names(), values) + " " + std::to_string(c.value()) + "\n";
            });
            break;
        case Type::Gauge:
            head(out, name, e.help, "gauge");
            e.gauge->each([&](const std::vector<std::string>& values, const Gauge& g) {
                out += name + label_set(e.gauge->label_names(), values) + " " + std::to_string(g.value()) + "\n";
            });
            break;
        case Type::Histogram:
            head(out, name, e.help, "histogram");
            e.histogram->each([&](const std::vector<std::string>& values, const Histogram& h) {
                const auto& names = e.histogram->label_names();
                std::vector<std::uint64_t> cum = h.cumulative();
                for (std::size_t i = 0; i < h.bounds().size(); ++i)
                    out += name + "_bucket" + label_set(names, values, "le", format_value(h.bounds()[i])) + " " +
                           std::to_string(cum[i]) + "\n";
                out += name + "_bucket" + label_set(names, values, "le", "+Inf") + " " + std::to_string(cum.back()) + "\n";
                out += name + "_sum" + label_set(names, values) + " " + format_value(h.sum()) + "\n";
                out += name + "_count" + label_set(names, values) + " " + std::to_string(cum.back()) + "\n";
            });
            break;
        }
    }
    for (const Snapshot& s : snapshots) {
        head(out, s.name, s.help, "gauge");
        for (const auto& [values, v] : s.rows) out += s.name + label_set(s.label_names, values) + " " + format_value(v) + "\n";
    }
    return out;
}

Registry& process() {
    static Registry registry;
    return registry;
}

}  // namespace rampart::metrics
