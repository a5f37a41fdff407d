// admin/block_commands.cpp — parse one `rampart block` request, act, format the answer.
#include "admin/block_commands.hpp"

#include <charconv>
#include <sstream>
#include <vector>

#include "admin/queue_commands.hpp"
#include "filter/block_list.hpp"
#include "util/text.hpp"

namespace rampart::admin {
namespace {

std::string ok(const std::string& text) { return "ok\n" + util::display_escape(text) + "\n"; }
std::string fail(const std::string& text) { return "error\n" + util::display_escape(text) + "\n"; }

std::int64_t unix_s(filter::BlockEntry::Time t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

bool is_block_request(std::string_view request) { return request.rfind("block ", 0) == 0; }

std::string block_list_text(const filter::BlockList& list, bool json) {
    std::vector<filter::BlockEntry> entries = list.entries();
    if (json) {
        std::string j = "ok\n[";
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const filter::BlockEntry& e = entries[i];
            j += std::string(i ? "," : "") + "{\"prefix\":" + json_string(e.prefix.text()) +
                 ",\"expires\":" + (e.expires ? std::to_string(unix_s(*e.expires)) : std::string("null")) +
                 ",\"added\":" + std::to_string(unix_s(e.added)) + ",\"source\":" + json_string(e.source) +
                 ",\"reason\":" + json_string(e.reason) + "}";
        }
        return j + "]\n";
    }
    if (entries.empty()) return "ok\nthe block list is empty\n";
    std::string out = "ok\n";
    for (const filter::BlockEntry& e : entries)
        out += util::display_escape(e.prefix.text() + "  expires " + filter::block_time_text(e.expires) + "  added " +
                                    filter::block_time_text(e.added) + " by " + e.source + (e.reason.empty() ? "" : "  " + e.reason)) +
               "\n";
    return out;
}

std::string block_command(filter::BlockList& list, const std::string& request) {
    std::istringstream in(request);
    std::string block, verb, prefix_text;
    in >> block >> verb;
    if (verb == "list") {
        std::string rest;
        in >> rest;
        return block_list_text(list, rest == "--json");
    }
    in >> prefix_text;
    auto prefix = net::Cidr::parse(prefix_text);
    if (!prefix) return fail("\"" + prefix_text + "\" is not an address or prefix (e.g. 198.51.100.7 or 198.51.100.0/24)");
    if (verb == "del") {
        auto r = list.remove(*prefix);
        if (!r) return fail(r.error().message);
        return *r ? ok("removed " + prefix->text()) : fail("no entry for " + prefix->text() + " (see rampart block list)");
    }
    if (verb == "add") {
        std::string secs_text, reason;
        in >> secs_text;
        std::getline(in >> std::ws, reason);
        std::int64_t secs = -1;
        auto [p, ec] = std::from_chars(secs_text.data(), secs_text.data() + secs_text.size(), secs);
        if (ec != std::errc() || p != secs_text.data() + secs_text.size() || secs < 0)
            return fail("expiry \"" + secs_text + "\" is not a number of seconds");
        std::optional<filter::BlockEntry::Time> expires;
        if (secs > 0) expires = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()) + std::chrono::seconds(secs);
        auto r = list.add(*prefix, expires, reason, "operator");
        if (!r) return fail(r.error().message);
        return ok("blocked " + prefix->text() + " until " + (expires ? filter::block_time_text(expires) : std::string("removed")));
    }
    return fail("usage: block add PREFIX SECONDS REASON | block del PREFIX | block list [--json]");
}

}  // namespace rampart::admin
