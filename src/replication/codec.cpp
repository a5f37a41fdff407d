// replication/codec.cpp — encode and the strict, bounded decoder (see codec.hpp).
#include "replication/codec.hpp"

#include <charconv>

namespace rampart::replication {
namespace {

constexpr std::string_view kMagic = "rampart-replication 1";

Error fail(std::size_t line, std::string what) { return Error{0, "replication message line " + std::to_string(line) + ": " + what}; }

// Reads one LF-terminated line from `rest` (at most kMaxEntry + 64 bytes).
bool next_line(std::string_view& rest, std::string_view& line) {
    std::size_t nl = rest.find('\n');
    if (nl == std::string_view::npos || nl > kMaxEntry + 64) return false;
    line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    return true;
}

bool parse_number(std::string_view s, std::uint64_t& out) {
    if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// "key value" with exactly this key.
bool field(std::string_view line, std::string_view key, std::string_view& value) {
    if (line.size() <= key.size() + 1 || line.substr(0, key.size()) != key || line[key.size()] != ' ') return false;
    value = line.substr(key.size() + 1);
    return true;
}

}  // namespace

std::string_view kind_name(Kind k) { return k == Kind::Config ? "config" : "recipients"; }

bool valid_entry(std::string_view entry) {
    if (entry.empty() || entry.size() > kMaxEntry) return false;
    for (char c : entry)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

bool from_hex(std::string_view hex, std::string& out) {
    out.clear();
    if (hex.size() % 2) return false;
    auto val = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;   // lower case only: one spelling per value (what is signed is what was read)
    };
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int hi = val(hex[i]), lo = val(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            out.clear();
            return false;
        }
        out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return true;
}

std::string signed_part(const Message& m) {
    std::string out;
    out += kMagic;
    out += "\nkind ";
    out += kind_name(m.kind);
    out += "\nserial " + std::to_string(m.serial) + "\nbase " + std::to_string(m.base) + "\nhub " + m.hub + "\nentries " +
           std::to_string(m.added.size() + m.removed.size()) + "\n";
    for (const std::string& e : m.added) out += "+ " + e + "\n";
    for (const std::string& e : m.removed) out += "- " + e + "\n";
    return out;
}

std::string encode(const Message& m) { return signed_part(m) + "signature " + to_hex(m.signature) + "\n"; }

Result<Message> decode(std::string_view bytes) {
    if (bytes.size() > kMaxMessage) return Error{0, "replication message larger than " + std::to_string(kMaxMessage) + " bytes"};
    std::string_view rest = bytes, line, v;
    std::size_t n = 0;
    Message m;
    auto next = [&] {
        ++n;
        return next_line(rest, line);
    };
    if (!next() || line != kMagic) return fail(n, "not a rampart replication message (version 1)");
    if (!next() || !field(line, "kind", v)) return fail(n, "expected \"kind config|recipients\"");
    if (v == "config") m.kind = Kind::Config;
    else if (v == "recipients") m.kind = Kind::Recipients;
    else return fail(n, "unknown kind");
    if (!next() || !field(line, "serial", v) || !parse_number(v, m.serial) || m.serial == 0)
        return fail(n, "expected \"serial N\" (N >= 1)");
    if (!next() || !field(line, "base", v) || !parse_number(v, m.base) || m.base >= m.serial)
        return fail(n, "expected \"base M\" (M < serial)");
    if (!next() || !field(line, "hub", v) || !valid_entry(v) || v.find(' ') != std::string_view::npos)
        return fail(n, "expected \"hub NAME\"");
    m.hub = std::string(v);
    std::uint64_t count = 0;
    if (!next() || !field(line, "entries", v) || !parse_number(v, count) || count > kMaxEntries)
        return fail(n, "expected \"entries K\" (K <= " + std::to_string(kMaxEntries) + ")");
    for (std::uint64_t i = 0; i < count; ++i) {
        if (!next()) return fail(n, "truncated: " + std::to_string(count - i) + " entries missing");
        if (line.size() < 3 || (line[0] != '+' && line[0] != '-') || line[1] != ' ' || !valid_entry(line.substr(2)))
            return fail(n, "expected \"+ ENTRY\" or \"- ENTRY\"");
        if (line[0] == '-' && m.snapshot()) return fail(n, "a snapshot cannot remove entries");
        if (line[0] == '+' && !m.removed.empty()) return fail(n, "additions come before removals");
        (line[0] == '+' ? m.added : m.removed).emplace_back(line.substr(2));
    }
    if (!next() || !field(line, "signature", v) || v.size() != 128 || !from_hex(v, m.signature))
        return fail(n, "expected \"signature HEX\" (128 hex digits)");
    if (!rest.empty()) return fail(n + 1, "bytes after the signature");
    return m;
}

}  // namespace rampart::replication
