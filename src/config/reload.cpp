// config/reload.cpp — live vs restart-only settings, compared on the TOML text (an absent key
// and a key set to its default count as different: the operator changed the file).
#include "config/reload.hpp"

#include <set>

#include <toml++/toml.h>

namespace rampart::config {
namespace {

// [server] keys applied live; every other [server] key needs a restart.
const std::set<std::string, std::less<>> kLiveServerKeys = {"role", "log_level", "log_file"};

// Whole tables (or arrays of tables) that need a restart, and how to keep their running value.
struct RestartOnlyTable {
    std::string_view name;
    void (*keep)(const Config& running, Config& next);
};

const RestartOnlyTable kRestartOnly[] = {
    {"directory", [](const Config& r, Config& n) { n.directory = r.directory; }},
    {"tls", [](const Config& r, Config& n) { n.tls = r.tls; }},
    {"send_connectors", [](const Config& r, Config& n) { n.send_connectors = r.send_connectors; }},
    {"queue", [](const Config& r, Config& n) { n.queue = r.queue; }},
    {"dns", [](const Config& r, Config& n) { n.dns = r.dns; }},
    {"kerberos", [](const Config& r, Config& n) { n.kerberos = r.kerberos; }},
    {"delivery", [](const Config& r, Config& n) { n.delivery = r.delivery; }},
    {"back_pressure", [](const Config& r, Config& n) { n.back_pressure = r.back_pressure; }},
    {"reputation", [](const Config& r, Config& n) { n.reputation = r.reputation; }},
};

bool same(toml::node_view<const toml::node> a, toml::node_view<const toml::node> b) {
    if (!a || !b) return !a && !b;
    return a == b;
}

}  // namespace

std::vector<std::string> keep_restart_only(const Config& running, std::string_view running_text, Config& next,
                                           std::string_view next_text) {
    std::vector<std::string> changed;
    toml::table before, after;
    try {
        before = toml::parse(running_text);
        after = toml::parse(next_text);
    } catch (const toml::parse_error&) {
        return changed;   // both loaded, so both parse; nothing to compare otherwise
    }
    const toml::table* sb = before["server"].as_table();
    const toml::table* sa = after["server"].as_table();
    std::set<std::string> keys;
    for (const toml::table* t : {sb, sa})
        if (t)
            for (auto&& [k, v] : *t) keys.insert(std::string(k.str()));
    for (const std::string& k : keys) {
        if (kLiveServerKeys.contains(k)) continue;
        toml::node_view<const toml::node> a = sb ? (*sb)[k] : toml::node_view<const toml::node>{};
        toml::node_view<const toml::node> b = sa ? (*sa)[k] : toml::node_view<const toml::node>{};
        if (!same(a, b)) changed.push_back("server." + k);
    }
    {   // every restart-only [server] value is kept, whichever changed
        ServerSettings kept = running.server;
        kept.role = next.server.role;
        kept.log_level = next.server.log_level;
        kept.log_file = next.server.log_file;
        next.server = kept;
    }
    for (const RestartOnlyTable& t : kRestartOnly) {
        std::string name(t.name);
        if (!same(std::as_const(before)[name], std::as_const(after)[name])) changed.push_back(name);
        t.keep(running, next);
    }
    return changed;
}

}  // namespace rampart::config
