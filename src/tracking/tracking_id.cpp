// tracking/tracking_id.cpp — see tracking_id.hpp.
#include "tracking/tracking_id.hpp"

#include <openssl/rand.h>
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace rampart::tracking {
namespace {

// Calls `f(name, raw value)` for each field of the header block until it returns true.
template <class F>
void each_field(std::string_view message, F f) {
    std::size_t pos = 0;
    while (pos < message.size()) {
        std::size_t nl = message.find('\n', pos);
        std::size_t next = nl == std::string_view::npos ? message.size() : nl + 1;
        std::string_view line = message.substr(pos, next - pos);
        if (line == "\r\n" || line == "\n") return;
        pos = next;
        if (line[0] == ' ' || line[0] == '\t') continue;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view value = line.substr(colon + 1);
        // Continuation lines belong to the value.
        while (pos < message.size() && (message[pos] == ' ' || message[pos] == '\t')) {
            std::size_t n2 = message.find('\n', pos);
            std::size_t e = n2 == std::string_view::npos ? message.size() : n2 + 1;
            value = std::string_view(value.data(), message.data() + e - value.data());
            pos = e;
        }
        if (f(line.substr(0, colon), value)) return;
    }
}

bool is_header_name(std::string_view name) {   // no copies: it runs for every header field of every message
    return name.size() == kHeader.size() && ::strncasecmp(name.data(), kHeader.data(), name.size()) == 0;
}

}  // namespace

std::string new_tracking_id() {
    static constexpr char kHex[] = "0123456789abcdef";
    // OpenSSL's DRBG, drawn 504 bytes at a time per thread: std::random_device reads the
    // CPU's RDRAND per call, which a hypervisor can make cost microseconds (5% of the
    // server's CPU per message here), and each RAND_bytes call has fixed costs too.
    constexpr std::size_t kRandomBytes = 7;   // 13 hex digits used: 52 bits
    thread_local unsigned char pool[72 * kRandomBytes];
    thread_local std::size_t used = sizeof pool;
    if (used == sizeof pool) {
        if (RAND_bytes(pool, sizeof pool) != 1) {   // not seen in practice; the id must still be unique
            std::random_device rd;
            for (unsigned char& c : pool) c = static_cast<unsigned char>(rd());
        }
        used = 0;
    }
    std::string out(kNewIdLength, '0');
    auto ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    for (int i = 10; i >= 0; --i, ms >>= 4) out[static_cast<std::size_t>(i)] = kHex[ms & 0xf];
    const unsigned char* raw = pool + used;
    for (std::size_t i = 0; i < 13; ++i) out[11 + i] = kHex[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
    std::fill_n(pool + used, kRandomBytes, 0);   // each draw serves once
    used += kRandomBytes;
    return out;
}

bool valid_tracking_id(std::string_view id) {
    if (id.size() < 8 || id.size() > kMaxIdLength) return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::optional<std::string> read_header(std::string_view message) {
    std::optional<std::string> out;
    each_field(message, [&](std::string_view name, std::string_view value) {
        if (!is_header_name(name)) return false;
        std::string v;
        for (char c : value)
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') v += c;
        out = std::move(v);
        return true;
    });
    return out;
}

bool has_header(std::string_view message) { return read_header(message).has_value(); }

std::string header_line(std::string_view id) { return std::string(kHeader) + ": " + std::string(id) + "\r\n"; }

}  // namespace rampart::tracking
