// filter/block_list.hpp — the dynamic IP block list (`rampart block add|del|list`, and
// agents such as a future reputation agent): prefixes with an optional expiry, a reason
// and who added them, consulted by the connection filter at connect next to the static
// [connection_filter] block list.
// Persistence: one small text file in data_dir (kBlockListFile), rewritten atomically and
// durably (util::write_file_atomic) on every change, so a change survives a restart and a
// crash. The running server owns the file; `rampart block` reaches it through the
// control socket (admin/block_commands.hpp).
// Promises: expired entries are never matched; they are pruned at load and at every
// change. Thread-safe: sessions read while the control socket writes.
// Trust: the file is the operator's (mode 0600); a malformed line is reported with its
// line number and the load fails rather than silently dropping an entry.
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/cidr.hpp"
#include "util/result.hpp"

namespace rampart::filter {

constexpr const char* kBlockListFile = "block_list";

struct BlockEntry {
    using Time = std::chrono::system_clock::time_point;
    net::Cidr prefix;
    std::optional<Time> expires;   // nullopt: until removed
    Time added{};
    std::string source;            // who added it: "operator", "reputation", ...
    std::string reason;            // free text (one line) shown to the operator and logged
    bool expired(Time now) const { return expires && *expires <= now; }
};

// The file's text and back (pure; used by tests). Lines: "prefix<TAB>expires<TAB>added<TAB>
// source<TAB>reason", times in Unix seconds, expires 0 = never; '#' lines are comments.
std::string format_block_list(const std::vector<BlockEntry>& entries);
Result<std::vector<BlockEntry>> parse_block_list(std::string_view text, const std::string& file_name);

class BlockList {
public:
    using Time = BlockEntry::Time;
    // `file` empty: memory only (tests, explain without a data_dir).
    explicit BlockList(std::filesystem::path file = {}) : file_(std::move(file)) {}

    // Reads the file (a missing file is an empty list).
    Result<Ok> load();
    // Adds `prefix`, or replaces the entry for the same prefix; saves. `reason` and
    // `source` are cut to one line.
    Result<Ok> add(const net::Cidr& prefix, std::optional<Time> expires, std::string reason, std::string source);
    // Removes the entry for exactly `prefix`; false if there was none. Saves.
    Result<bool> remove(const net::Cidr& prefix);
    // The first unexpired entry containing `client`.
    std::optional<BlockEntry> find(const net::IpAddress& client, Time now = std::chrono::system_clock::now()) const;
    // The unexpired entries, in the order added.
    std::vector<BlockEntry> entries(Time now = std::chrono::system_clock::now()) const;
    const std::filesystem::path& file() const { return file_; }

private:
    Result<Ok> save_locked();   // prunes expired entries, then writes
    std::filesystem::path file_;
    mutable std::mutex mu_;
    std::vector<BlockEntry> entries_;
};

// "2026-12-01T20:15:00Z" (UTC), or "never".
std::string block_time_text(const std::optional<BlockEntry::Time>& t);

}  // namespace rampart::filter
