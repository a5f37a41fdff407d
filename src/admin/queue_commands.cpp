// admin/queue_commands.cpp — parse one queue-tool request, act, format the answer.
#include "admin/queue_commands.hpp"

#include <chrono>
#include <cstdio>
#include <sstream>
#include <vector>

#include "queue/scheduler.hpp"
#include "queue/spool.hpp"
#include "smtp/command_parser.hpp"
#include "util/text.hpp"

namespace rampart::admin {
namespace {

// Every text in the human-readable answers that a client, a peer or a header chose goes
// through this (terminal escapes, bidi controls; util/text.hpp). JSON has its own quoting.
std::string shown(std::string_view s) { return util::display_escape(s); }

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string recipient_state(const queue::Recipient& r) {
    if (r.done) return r.last.outcome == queue::Outcome::Failed ? "failed" : "delivered";
    if (r.last.outcome == queue::Outcome::Deferred) return "deferred";
    if (r.last.outcome == queue::Outcome::Failed) return "failed";
    return "pending";
}

namespace {

std::string rcpt_state(const queue::Recipient& r) { return recipient_state(r); }

std::string span(std::int64_t s) {
    if (s < 0) s = 0;
    if (s < 120) return std::to_string(s) + "s";
    if (s < 7200) return std::to_string(s / 60) + "m";
    if (s < 172800) return std::to_string(s / 3600) + "h";
    return std::to_string(s / 86400) + "d";
}

std::string size_text(std::uint64_t b) {
    char buf[32];
    if (b < 10240) std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(b));
    else if (b < (10u << 20)) std::snprintf(buf, sizeof buf, "%lluK", static_cast<unsigned long long>(b >> 10));
    else std::snprintf(buf, sizeof buf, "%lluM", static_cast<unsigned long long>(b >> 20));
    return buf;
}

std::string next_text(const queue::MessageInfo& m, std::int64_t now) {
    if (m.state == "held") return "held";
    if (m.state == "active") return "now";
    if (m.state == "ready" || m.envelope.next_attempt == 0) return "due";
    return "in " + span((m.envelope.next_attempt + 999) / 1000 - now);
}

std::string result_text(const queue::AttemptResult& r) {
    std::string t = r.code ? std::to_string(r.code) + " " : "";
    if (!r.status.empty()) t += shown(r.status) + " ";
    return t + shown(r.diagnostic);
}

std::string pad(std::string s, std::size_t w) {
    if (s.size() < w) s.append(w - s.size(), ' ');
    return s;
}

std::string_view ret_name(smtp::Ret r) {
    return r == smtp::Ret::Full ? "FULL" : r == smtp::Ret::Hdrs ? "HDRS" : "-";
}

std::string notify_text(unsigned n) {
    if (n == 0) return "-";
    if (n & smtp::notify::Never) return "NEVER";
    std::string out;
    if (n & smtp::notify::Success) out += "SUCCESS";
    if (n & smtp::notify::Failure) out += std::string(out.empty() ? "" : ",") + "FAILURE";
    if (n & smtp::notify::Delay) out += std::string(out.empty() ? "" : ",") + "DELAY";
    return out;
}

void table_row(std::ostringstream& o, const queue::MessageInfo& m, std::int64_t now) {
    const queue::Envelope& e = m.envelope;
    o << pad(e.id, 20) << pad(span(now - e.received_at), 6) << pad(size_text(e.size), 7) << pad(m.state, 12)
      << pad(next_text(m, now), 9) << pad(std::to_string(e.attempts), 6) << "<" << shown(e.sender) << ">\n";
    if (!e.quarantine.empty()) o << "    quarantine: " << shown(e.quarantine) << "\n";   // who held it and why
    for (const queue::Recipient& r : e.recipients) {
        o << "    " << pad(rcpt_state(r), 10) << shown(r.address);
        if (r.last.outcome != queue::Outcome::None && r.last.outcome != queue::Outcome::Delivered)
            o << "  (" << result_text(r.last) << ")";
        o << "\n";
    }
}

std::string message_json(const queue::MessageInfo& m, std::int64_t now) {
    const queue::Envelope& e = m.envelope;
    std::string j = "{\"id\":" + json_string(e.id) + ",\"received_at\":" + std::to_string(e.received_at) +
                    ",\"age_s\":" + std::to_string(std::max<std::int64_t>(0, now - e.received_at)) +
                    ",\"size\":" + std::to_string(e.size) + ",\"sender\":" + json_string(e.sender) +
                    ",\"state\":" + json_string(m.state) + ",\"held\":" + (e.held ? "true" : "false") +
                    ",\"quarantine\":" + (e.quarantine.empty() ? std::string("null") : json_string(e.quarantine)) +
                    ",\"attempts\":" + std::to_string(e.attempts) + ",\"next_attempt\":" +
                    (e.next_attempt && m.state == "deferred" ? std::to_string(e.next_attempt / 1000) : "null") +
                    ",\"delay_warned\":" + (e.delay_warned ? "true" : "false") + ",\"listener\":" + json_string(e.listener) +
                    ",\"client\":" + json_string(e.client) + ",\"envid\":" + json_string(smtp::decode_xtext(e.envid)) +
                    ",\"ret\":" + json_string(ret_name(e.ret)) + ",\"recipients\":[";
    for (std::size_t i = 0; i < e.recipients.size(); ++i) {
        const queue::Recipient& r = e.recipients[i];
        j += (i ? "," : "");
        j += "{\"address\":" + json_string(r.address) + ",\"state\":" + json_string(rcpt_state(r)) +
             ",\"notify\":" + json_string(notify_text(r.notify)) + ",\"orcpt\":" + json_string(r.orcpt) +
             ",\"code\":" + std::to_string(r.last.code) + ",\"status\":" + json_string(r.last.status) +
             ",\"diagnostic\":" + json_string(r.last.diagnostic) + ",\"remote\":" + json_string(r.last.remote) + "}";
    }
    return j + "]}";
}

std::string ok(bool json, const std::string& text) {
    return json ? "ok\n{\"ok\":true,\"message\":" + json_string(text) + "}\n" : "ok\n" + shown(text) + "\n";
}
std::string fail(bool json, const std::string& text) {
    return json ? "error\n{\"ok\":false,\"error\":" + json_string(text) + "}\n" : "error\n" + shown(text) + "\n";
}

std::string headers_of(const queue::Spool& spool, const std::string& id) { return message_headers(spool, id); }

}  // namespace

std::string message_headers(const queue::Spool& spool, const std::string& id) {
    auto m = spool.read_message(id);
    if (!m) return {};
    std::size_t end = m->find("\r\n\r\n");
    return end == std::string::npos ? *m : m->substr(0, end + 2);
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
        } else {
            // Copy a well-formed UTF-8 sequence; any other byte becomes U+FFFD.
            std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            bool good = len && i + len <= s.size();
            for (std::size_t k = 1; good && k < len; ++k) good = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
            if (good) {
                out.append(s.substr(i, len));
                i += len - 1;
            } else {
                out += "\\ufffd";
            }
        }
    }
    return out + "\"";
}

asio::awaitable<std::string> queue_command(queue::Scheduler& sched, const queue::Spool& spool, std::string request) {
    std::vector<std::string> words;
    std::istringstream in(request);
    for (std::string w; in >> w;) words.push_back(w);
    bool json = false;
    std::erase_if(words, [&json](const std::string& w) { return w == "--json" ? (json = true) : false; });
    if (words.empty()) co_return fail(json, "empty request");
    // "quarantine VERB ...": the same requests, limited to quarantined messages.
    bool quarantine = words[0] == "quarantine";
    if (quarantine) {
        words.erase(words.begin());
        if (words.empty()) co_return fail(json, "usage: quarantine list | show ID | release ID | delete ID  [--json]");
        const std::string& v = words[0];
        if (v != "list" && v != "show" && v != "release" && v != "delete")
            co_return fail(json, "usage: quarantine list | show ID | release ID | delete ID  [--json]");
        if (words.size() == 2) {
            auto m = sched.find(words[1]);
            if (!m || m->envelope.quarantine.empty()) co_return fail(json, "no quarantined message " + words[1]);
        }
    }
    const std::string& verb = words[0];
    std::int64_t now = now_s();
    if (verb == "list" && words.size() == 1) {
        auto all = sched.list();
        if (quarantine) std::erase_if(all, [](const queue::MessageInfo& m) { return m.envelope.quarantine.empty(); });
        if (json) {
            std::string j = "{\"messages\":[";
            for (std::size_t i = 0; i < all.size(); ++i) j += (i ? "," : "") + message_json(all[i], now);
            co_return "ok\n" + j + "]}\n";
        }
        if (all.empty()) co_return quarantine ? "ok\nthe quarantine is empty\n" : "ok\nthe queue is empty\n";
        std::ostringstream o;
        o << pad("ID", 20) << pad("AGE", 6) << pad("SIZE", 7) << pad("STATE", 12) << pad("NEXT", 9) << pad("TRIES", 6)
          << "SENDER / RECIPIENTS\n";
        for (const auto& m : all) table_row(o, m, now);
        o << all.size() << (all.size() == 1 ? " message\n" : " messages\n");
        co_return "ok\n" + o.str();
    }
    if (verb == "retry" && words.size() == 2 && words[1] == "--all") {
        std::size_t n = sched.retry_all();
        co_return ok(json, std::to_string(n) + " deferred message(s) due now");
    }
    if (words.size() != 2) co_return fail(json, "usage: list | show ID | retry ID|--all | hold ID | release ID | delete ID | bounce ID  [--json]");
    const std::string& id = words[1];
    if (verb == "show") {
        auto m = sched.find(id);
        if (!m) co_return fail(json, "no message " + id + " in the queue");
        std::string headers = headers_of(spool, id);
        if (json) {
            std::string j = message_json(*m, now);
            j.pop_back();
            co_return "ok\n" + j + ",\"headers\":" + json_string(headers) + "}\n";
        }
        const queue::Envelope& e = m->envelope;
        std::ostringstream o;
        o << "id:          " << e.id << "\n"
          << "state:       " << m->state << (e.held && m->state != "held" ? " (held after this attempt)" : "") << "\n"
          << "received:    " << queue::rfc5322_date(e.received_at) << " (" << span(now - e.received_at) << " ago) on listener "
          << shown(e.listener) << " from " << shown(e.client) << " (" << shown(e.helo) << ")"
          << (e.tls.empty() ? "" : ", " + shown(e.tls)) << "\n"
          << (e.quarantine.empty() ? "" : "quarantine:  " + shown(e.quarantine) + "\n")
          << "sender:      <" << shown(e.sender) << ">\n"
          << "size:        " << e.size << " bytes\n"
          << "attempts:    " << e.attempts << ", next: " << next_text(*m, now) << "\n"
          << "dsn:         RET=" << ret_name(e.ret) << " ENVID=" << (e.envid.empty() ? "-" : shown(smtp::decode_xtext(e.envid)))
          << (e.delay_warned ? ", delay notice sent" : "") << "\n"
          << "recipients:\n";
        for (const queue::Recipient& r : e.recipients) {
            o << "  " << pad(rcpt_state(r), 10) << shown(r.address) << "  NOTIFY=" << notify_text(r.notify)
              << (r.orcpt.empty() ? "" : "  ORCPT=" + shown(r.orcpt)) << "\n";
            if (r.last.outcome != queue::Outcome::None)
                o << "             " << result_text(r.last) << (r.last.remote.empty() ? "" : " [" + shown(r.last.remote) + "]") << "\n";
        }
        o << "headers:\n";
        std::string h = headers;
        for (std::size_t p = 0; p < h.size();) {
            std::size_t nl = h.find("\r\n", p);
            if (nl == std::string::npos) nl = h.size();
            o << "  " << shown(h.substr(p, nl - p)) << "\n";
            p = nl + 2;
        }
        co_return "ok\n" + o.str();
    }
    Result<std::string> r = Error{0, "unknown request \"" + verb + "\""};
    if (quarantine && verb == "release") r = co_await sched.release_quarantine(id);
    else if (verb == "retry") r = sched.retry(id);
    else if (verb == "hold") r = co_await sched.hold(id);
    else if (verb == "release") r = co_await sched.release(id);
    else if (verb == "delete") r = sched.remove(id);
    else if (verb == "bounce") r = co_await sched.bounce(id);
    co_return r ? ok(json, *r) : fail(json, r.error().message);
}

}  // namespace rampart::admin
