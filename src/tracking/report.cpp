// tracking/report.cpp — see report.hpp.
#include "tracking/report.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "config/units.hpp"
#include "util/text.hpp"

namespace rampart::tracking {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d))
        return std::nullopt;
    std::size_t pos = 10;
    std::int64_t ms = 0, offset_s = 0;
    if (pos < s.size()) {
        if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
        if (!digits(s, pos + 1, 2, h) || s.size() < pos + 9 || s[pos + 3] != ':' || !digits(s, pos + 4, 2, mi) || s[pos + 6] != ':' ||
            !digits(s, pos + 7, 2, sec))
            return std::nullopt;
        pos += 9;
        if (pos < s.size() && s[pos] == '.') {
            std::int64_t scale = 100;
            ++pos;
            std::size_t start = pos;
            for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) {
                ms += (s[pos] - '0') * scale;
                scale /= 10;
            }
            if (pos == start) return std::nullopt;
        }
        if (pos >= s.size()) return std::nullopt;   // RFC 3339 wants the offset
        if (s[pos] == 'Z' || s[pos] == 'z') ++pos;
        else if (s[pos] == '+' || s[pos] == '-') {
            int oh, om;
            if (!digits(s, pos + 1, 2, oh) || s.size() < pos + 6 || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om)) return std::nullopt;
            offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
            pos += 6;
        } else return std::nullopt;
        if (pos != s.size()) return std::nullopt;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    std::int64_t t = static_cast<std::int64_t>(timegm(&tm));
    return (t - offset_s) * 1000 + ms;
}

std::string who_refused(const Event& e) {
    std::string out;
    if (!e.agent.empty()) out = "agent " + e.agent + (e.rule.empty() ? "" : " (rule " + e.rule + ")");
    else if (!e.rule.empty()) out = "rule " + e.rule;
    else out = "the session";   // a protocol refusal: size, line length, bare LF, ...
    return out;
}

std::string reply_text(const Event& e) {
    // Most reasons are the whole reply already ("550 5.1.1 no such user").
    if (e.code && e.reason.starts_with(std::to_string(e.code) + " ")) return e.reason;
    std::string out;
    if (e.code) out += std::to_string(e.code);
    if (!e.status.empty()) out += (out.empty() ? "" : " ") + e.status;
    if (!e.reason.empty()) out += (out.empty() ? "" : " ") + e.reason;
    return out;
}

bool is_refusal(const Event& e) {
    if (e.event == "smtp.connection.refused" || e.event == "smtp.mail.refused" || e.event == "smtp.rcpt.refused") return true;
    return e.event == "smtp.transaction" && (e.result == "refused" || e.result == "deferred");
}

// Every text a peer may have chosen, made safe for a terminal (util::display_escape).
Event escaped(const Event& in) {
    Event e = in;
    for (std::string* s : {&e.tracking_id, &e.qid, &e.listener, &e.client, &e.principal, &e.sender, &e.rcpts, &e.agent, &e.stage,
                           &e.rule, &e.result, &e.status, &e.reason, &e.relay, &e.extra})
        *s = util::display_escape(*s);
    return e;
}

}  // namespace

std::optional<std::int64_t> parse_time(std::string_view text, std::int64_t now_ms) {
    if (text.empty()) return std::nullopt;
    if (auto d = config::parse_duration(text)) return now_ms - d->count();
    return parse_rfc3339(text);
}

std::string format_time(std::int64_t ms) {
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];   // room for any int, as -Wformat-truncation counts
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

std::string event_label(const Event& e) {
    const std::string& n = e.event;
    if (e.extra == "report") {
        Event own = e;
        own.extra.clear();
        return "DSN " + event_label(own);
    }
    if (n == "smtp.connection.refused") return "connection refused";
    if (n == "smtp.mail.refused") return "MAIL refused";
    if (n == "smtp.rcpt.refused") return "RCPT refused";
    if (n == "smtp.transaction") {
        if (e.result == "accepted" || e.result == "quarantined") return "received";
        if (e.result == "refused") return "refused at end of data";
        if (e.result == "deferred") return "deferred at end of data";
        return "transaction " + e.result;
    }
    if (n == "filter.verdict") return "filter verdict";
    if (n == "quarantine.added") return "quarantined";
    if (n == "quarantine.released") return "released from quarantine";
    if (n == "delivery.attempt") return "delivery " + e.result;
    if (n == "queue.failed") return "failed";
    if (n == "dsn.queued") return "DSN sent";
    if (n == "dsn.suppressed") return "DSN suppressed";
    return n;
}

const Event* refusal(const Message& m) {
    for (const Event& e : m.events)
        if (is_refusal(e)) return &e;
    return nullptr;
}

std::string render_text(const std::vector<Message>& messages) {
    std::string out;
    for (const Message& m : messages) {
        if (!out.empty()) out += '\n';
        out += "message " + util::display_escape(m.tracking_id) + "  status: " + status_names(m.status) + "\n";
        if (const Event* found = refusal(m)) {
            Event r = escaped(*found);
            out += "  refused by " + who_refused(r) + ": " + reply_text(r);
            if (!r.rcpts.empty() && r.event == "smtp.rcpt.refused") out += " (recipient " + r.rcpts + ")";
            out += "\n";
        }
        for (const Event& raw : m.events) {
            Event e = escaped(raw);
            std::string line = "  " + format_time(e.ts_ms) + "  " + event_label(e);
            auto add = [&](std::string_view k, const std::string& v) {
                if (!v.empty()) line += " " + std::string(k) + "=" + v;
            };
            add("qid", e.qid);
            add("listener", e.listener);
            add("client", e.client);
            add("principal", e.principal);
            if (e.event.starts_with("smtp.") && e.event != "smtp.connection.refused")
                add("from", e.sender.starts_with("<") ? e.sender : "<" + e.sender + ">");
            add(e.event == "smtp.rcpt.refused" ? "to" : "rcpts", e.rcpts);
            if (e.size) add("size", std::to_string(e.size));
            add("stage", e.stage);
            add("agent", e.agent);
            add("rule", e.rule);
            if (e.event == "filter.verdict" || e.event == "dsn.queued") add(e.event == "dsn.queued" ? "kind" : "verdict", e.result);
            add("relay", e.relay);
            if (e.event == "dsn.queued") add("report_qid", e.extra);
            std::string reply = reply_text(e);
            if (!reply.empty()) line += ": " + reply;
            out += line + "\n";
            if (e.event == "smtp.transaction" && (e.result == "accepted" || e.result == "quarantined"))
                out += "  " + format_time(e.ts_ms) + "  queued qid=" + e.qid + (e.result == "quarantined" ? " (held in the quarantine)" : "") + "\n";
        }
    }
    return out;
}

std::string render_json(const std::vector<Message>& messages) {
    nlohmann::json all = nlohmann::json::array();
    for (const Message& m : messages) {
        nlohmann::json status = nlohmann::json::array();
        for (int bit : {Refused, Quarantined, Delivered, Deferred, Bounced})
            if (m.status & bit) status.push_back(status_names(bit));
        nlohmann::json j{{"tracking_id", m.tracking_id}, {"status", status}, {"refused_by", nullptr}};
        if (const Event* r = refusal(m))
            j["refused_by"] = {{"event", r->event}, {"agent", r->agent}, {"rule", r->rule}, {"code", r->code},
                               {"status", r->status}, {"reason", r->reason}, {"recipient", r->event == "smtp.rcpt.refused" ? r->rcpts : ""}};
        nlohmann::json events = nlohmann::json::array();
        for (const Event& e : m.events) {
            nlohmann::json ej{{"time", format_time(e.ts_ms)}, {"event", e.event}, {"label", event_label(e)}};
            auto add = [&](const char* k, const std::string& v) {
                if (!v.empty()) ej[k] = v;
            };
            add("qid", e.qid);
            add("listener", e.listener);
            add("client", e.client);
            add("principal", e.principal);
            add("from", e.sender);
            add("rcpts", e.rcpts);
            add("agent", e.agent);
            add("stage", e.stage);
            add("rule", e.rule);
            add("result", e.result);
            if (e.code) ej["code"] = e.code;
            add("status", e.status);
            add("reason", e.reason);
            add("relay", e.relay);
            if (e.size) ej["size"] = e.size;
            if (e.event == "dsn.queued") add("report_qid", e.extra);
            if (e.extra == "report") ej["report"] = true;
            events.push_back(std::move(ej));
        }
        j["events"] = std::move(events);
        all.push_back(std::move(j));
    }
    return all.dump(2) + "\n";
}

}  // namespace rampart::tracking
