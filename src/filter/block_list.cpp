// filter/block_list.cpp — see block_list.hpp.
#include "filter/block_list.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>

#include "util/file_io.hpp"

namespace rampart::filter {
namespace {

std::int64_t unix_s(BlockEntry::Time t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
BlockEntry::Time from_unix(std::int64_t s) { return BlockEntry::Time(std::chrono::seconds(s)); }

// One line of text: tabs and control characters become spaces.
std::string one_line(std::string s) {
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return s;
}

std::optional<std::int64_t> number(std::string_view s) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
    return v;
}

bool same_prefix(const net::Cidr& a, const net::Cidr& b) { return a.text() == b.text(); }

}  // namespace

std::string block_time_text(const std::optional<BlockEntry::Time>& t) {
    if (!t) return "never";
    std::time_t tt = static_cast<std::time_t>(unix_s(*t));
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string format_block_list(const std::vector<BlockEntry>& entries) {
    std::string out = "# rampart block list (rampart block add|del|list); prefix, expires, added, source, reason\n";
    for (const BlockEntry& e : entries)
        out += e.prefix.text() + "\t" + std::to_string(e.expires ? unix_s(*e.expires) : 0) + "\t" + std::to_string(unix_s(e.added)) +
               "\t" + one_line(e.source) + "\t" + one_line(e.reason) + "\n";
    return out;
}

Result<std::vector<BlockEntry>> parse_block_list(std::string_view text, const std::string& file_name) {
    std::vector<BlockEntry> out;
    int line_no = 0;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++line_no;
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string_view> f;
        for (std::size_t start = 0;;) {
            std::size_t tab = f.size() < 4 ? line.find('\t', start) : std::string_view::npos;
            f.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
            if (tab == std::string_view::npos) break;
            start = tab + 1;
        }
        auto where = [&](const std::string& what) {
            return Error{0, file_name + ":" + std::to_string(line_no) + ": " + what};
        };
        if (f.size() != 5) return where("expected 5 tab-separated fields (prefix, expires, added, source, reason)");
        auto prefix = net::Cidr::parse(f[0]);
        if (!prefix) return where("\"" + std::string(f[0]) + "\" is not an address or prefix");
        auto expires = number(f[1]);
        auto added = number(f[2]);
        if (!expires || !added) return where("expires and added must be Unix times in seconds (expires 0: never)");
        BlockEntry e{*prefix, *expires ? std::optional(from_unix(*expires)) : std::nullopt, from_unix(*added), std::string(f[3]),
                     std::string(f[4])};
        out.push_back(std::move(e));
    }
    return out;
}

Result<Ok> BlockList::load() {
    if (file_.empty()) return Ok{};
    auto text = util::read_file(file_);
    std::vector<BlockEntry> parsed;
    if (!text) {
        if (text.error().code != ENOENT) return text.error();
    } else {
        auto p = parse_block_list(*text, file_.string());
        if (!p) return p.error();
        parsed = std::move(*p);
    }
    std::lock_guard lock(mu_);
    Time now = std::chrono::system_clock::now();
    std::erase_if(parsed, [&](const BlockEntry& e) { return e.expired(now); });
    entries_ = std::move(parsed);
    return Ok{};
}

Result<Ok> BlockList::save_locked() {
    Time now = std::chrono::system_clock::now();
    std::erase_if(entries_, [&](const BlockEntry& e) { return e.expired(now); });
    if (file_.empty()) return Ok{};
    return util::write_file_atomic(file_, format_block_list(entries_));
}

Result<Ok> BlockList::add(const net::Cidr& prefix, std::optional<Time> expires, std::string reason, std::string source) {
    std::lock_guard lock(mu_);
    std::vector<BlockEntry> before = entries_;
    std::erase_if(entries_, [&](const BlockEntry& e) { return same_prefix(e.prefix, prefix); });
    entries_.push_back(BlockEntry{prefix, expires, std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()),
                                  one_line(std::move(source)), one_line(std::move(reason))});
    auto r = save_locked();
    if (!r) entries_ = std::move(before);   // memory and file stay the same
    return r;
}

Result<bool> BlockList::remove(const net::Cidr& prefix) {
    std::lock_guard lock(mu_);
    std::vector<BlockEntry> before = entries_;
    std::size_t n = std::erase_if(entries_, [&](const BlockEntry& e) { return same_prefix(e.prefix, prefix); });
    if (n == 0) return false;
    auto r = save_locked();
    if (!r) {
        entries_ = std::move(before);
        return r.error();
    }
    return true;
}

std::optional<BlockEntry> BlockList::find(const net::IpAddress& client, Time now) const {
    std::lock_guard lock(mu_);
    for (const BlockEntry& e : entries_)
        if (!e.expired(now) && e.prefix.contains(client)) return e;
    return std::nullopt;
}

std::vector<BlockEntry> BlockList::entries(Time now) const {
    std::lock_guard lock(mu_);
    std::vector<BlockEntry> out;
    for (const BlockEntry& e : entries_)
        if (!e.expired(now)) out.push_back(e);
    return out;
}

}  // namespace rampart::filter
