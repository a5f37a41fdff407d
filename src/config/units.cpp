// config/units.cpp — size and duration parsing (pure).
#include "config/units.hpp"

#include <array>
#include <cctype>
#include <limits>

namespace rampart::config {
namespace {

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

// Splits "35MiB" into 35 and "MiB"; nullopt if no leading digits or overflow.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view t) {
    std::size_t i = 0;
    std::uint64_t n = 0;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) {
        unsigned d = static_cast<unsigned>(t[i] - '0');
        if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
        n = n * 10 + d;
        ++i;
    }
    if (i == 0) return std::nullopt;
    std::string_view unit = t.substr(i);
    while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    return std::pair{n, unit};
}

std::optional<std::uint64_t> scaled(std::uint64_t n, std::uint64_t factor) {
    if (factor != 0 && n > std::numeric_limits<std::uint64_t>::max() / factor) return std::nullopt;
    return n * factor;
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
    auto parts = split_number(text);
    if (!parts) return std::nullopt;
    auto [n, unit] = *parts;
    struct U { std::string_view name; std::uint64_t factor; };
    static constexpr std::array<U, 11> units{{
        {"", 1}, {"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
        {"TiB", 1ull << 40}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000ull * 1000 * 1000},
        {"K", 1ull << 10}, {"M", 1ull << 20}}};
    for (const U& u : units)
        if (ieq(unit, u.name)) return scaled(n, u.factor);
    return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    auto parts = split_number(text);
    if (!parts) return std::nullopt;
    auto [n, unit] = *parts;
    struct U { std::string_view name; std::uint64_t ms; };
    static constexpr std::array<U, 5> units{{
        {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};
    for (const U& u : units) {
        if (ieq(unit, u.name)) {
            auto v = scaled(n, u.ms);
            if (!v || *v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return std::nullopt;
            return std::chrono::milliseconds(static_cast<std::int64_t>(*v));
        }
    }
    return std::nullopt;
}

std::string format_size(std::uint64_t b) {
    if (b != 0 && b % (1ull << 30) == 0) return std::to_string(b >> 30) + "GiB";
    if (b != 0 && b % (1ull << 20) == 0) return std::to_string(b >> 20) + "MiB";
    if (b != 0 && b % (1ull << 10) == 0) return std::to_string(b >> 10) + "KiB";
    return std::to_string(b);
}

std::string format_duration(std::chrono::milliseconds d) {
    auto ms = d.count();
    if (ms != 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace rampart::config
