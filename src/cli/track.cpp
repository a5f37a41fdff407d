// cli/track.cpp — `rampart track`: searches the tracking store of a server
// (data_dir/tracking.db, tracking/store.hpp) and prints what happened to each message.
// Trust: the store holds peers' text (addresses, reasons): the text output escapes it
// (util::display_escape, in tracking::render_text); JSON escapes by construction.
// Reads the SQLite file directly (WAL mode: the running server keeps writing meanwhile).
#include "cli/commands.hpp"

#include <iostream>
#include <tuple>

#include "tracking/recorder.hpp"
#include "tracking/report.hpp"
#include "tracking/store.hpp"
#include "util/log.hpp"

namespace rampart::cli {

std::unique_ptr<tracking::Recorder> start_tracking(const config::Config& cfg, const std::filesystem::path& data_dir) {
    if (!cfg.tracking.enabled) return nullptr;
    std::filesystem::path file = data_dir / "tracking.db";
    tracking::RecorderSettings s;
    s.max_age_ms = cfg.tracking.max_age.count();
    s.max_size = cfg.tracking.max_size;
    auto r = tracking::Recorder::start(file, s);
    if (!r) {
        log::error("tracking.unavailable", {{"file", file.string()}, {"error", r.error().message},
                                            {"effect", "no message tracking; mail flows as usual"}});
        return nullptr;
    }
    return std::move(*r);
}

int track_command(const std::string& path, const TrackArgs& a) {
    auto cfg = load(path);
    if (!cfg) return kConfigError;
    tracking::Query q;
    q.id = a.id;
    q.sender = a.sender;
    q.recipient = a.recipient;
    q.client = a.client;
    q.limit = a.limit;
    q.status = a.status.empty() ? 0 : tracking::status_bit(a.status);
    std::int64_t now = tracking::now_ms();
    for (auto [text, out, name] : {std::tuple{&a.since, &q.since_ms, "--since"}, {&a.until, &q.until_ms, "--until"}}) {
        if (text->empty()) continue;
        *out = tracking::parse_time(*text, now);
        if (!*out) {
            std::cerr << name << ": \"" << *text << "\" is neither an RFC 3339 time (2026-12-01T17:00:00Z) nor a time ago (\"1h\", \"2d\")\n";
            return kConfigError;
        }
    }
    std::filesystem::path file = cfg->resolve(cfg->server.data_dir) / "tracking.db";
    if (!std::filesystem::exists(file)) {
        std::cerr << "no tracking store at " << file.string() << " (tracking.enabled = false, or the server has not run yet)\n";
        return 1;
    }
    auto store = tracking::Store::open(file, false);
    if (!store) {
        std::cerr << store.error().message << "\n";
        return 1;
    }
    auto found = store->find(q);
    if (!found) {
        std::cerr << found.error().message << "\n";
        return 1;
    }
    if (a.json) std::cout << tracking::render_json(*found);
    else if (found->empty()) std::cerr << "no message matches\n";
    else std::cout << tracking::render_text(*found);
    return found->empty() ? 1 : 0;
}

}  // namespace rampart::cli
