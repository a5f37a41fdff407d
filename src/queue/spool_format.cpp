// queue/spool_format.cpp — encode and parse spool files.
#include "queue/spool_format.hpp"

#include <charconv>
#include <vector>

namespace rampart::queue {
namespace {

std::string_view body_text(smtp::Body b) {
    switch (b) {
        case smtp::Body::SevenBit: return "7BIT";
        case smtp::Body::EightBitMime: return "8BITMIME";
        default: return "-";
    }
}
std::string_view ret_text(smtp::Ret r) {
    switch (r) {
        case smtp::Ret::Full: return "FULL";
        case smtp::Ret::Hdrs: return "HDRS";
        default: return "-";
    }
}

template <class N>
bool to_number(std::string_view s, N& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::string dash_if_empty(const std::string& s) { return s.empty() ? "-" : s; }
std::string undash(std::string_view s) { return s == "-" ? std::string() : std::string(s); }

}  // namespace

std::string encode_header(const Envelope& e) {
    std::string h;
    h.reserve(256 + e.recipients.size() * 64);
    h += "rampart-spool 1\n";
    h += "id " + e.id + "\n";
    h += "received " + std::to_string(e.received_at) + "\n";
    h += "listener " + e.listener + "\n";
    h += "client " + e.client + "\n";
    h += "helo " + e.helo + "\n";
    h += "tls " + dash_if_empty(e.tls) + "\n";
    h += "sender " + e.sender + "\n";
    h += "body " + std::string(body_text(e.body)) + "\n";
    h += std::string("smtputf8 ") + (e.smtputf8 ? "1" : "0") + "\n";
    h += "ret " + std::string(ret_text(e.ret)) + "\n";
    h += "envid " + dash_if_empty(e.envid) + "\n";
    for (const Recipient& r : e.recipients)
        h += "rcpt\t" + std::to_string(r.notify) + "\t" + dash_if_empty(r.orcpt) + "\t" + r.address + "\n";
    h += "size " + std::to_string(e.size) + "\n\n";
    return h;
}

std::string encode_done(std::size_t i) { return "done " + std::to_string(i) + "\n"; }

namespace {
std::string one_field(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    return out.empty() ? "-" : out;
}
}  // namespace

std::string encode_failed(std::size_t i, const AttemptResult& r) {
    return "failed\t" + std::to_string(i) + "\t" + std::to_string(r.code) + "\t" + one_field(r.status) + "\t" +
           one_field(r.remote) + "\t" + one_field(r.diagnostic) + "\n";
}

std::string encode_quarantine(std::string_view reason) { return "hold\nquarantine " + one_field(reason) + "\n"; }

std::string encode_notified(std::size_t i) { return "notified " + std::to_string(i) + "\n"; }

std::string encode_attempt(std::uint32_t attempts, std::int64_t next_attempt) {
    return "attempt " + std::to_string(attempts) + " " + std::to_string(next_attempt) + "\n";
}

std::string encode_principal(const Envelope& env) {
    if (env.principal.empty()) return {};
    std::string p = env.principal;
    for (char& c : p)
        if (c == '\n' || c == '\r') c = ' ';
    return "principal " + p + "\n";
}

bool finished(const Envelope& env) {
    if (!env.dsn_pending.empty()) return false;
    for (const Recipient& r : env.recipients)
        if (!r.done) return false;
    return true;
}

namespace {

// One record appended after the end record; unknown or malformed lines are ignored (a
// newer version's record must not make the message unreadable).
void apply_record(Envelope& e, std::string_view line, std::vector<bool>& failed, std::vector<bool>& notified) {
    std::size_t idx = 0;
    if (line.rfind("done ", 0) == 0) {
        if (to_number(line.substr(5), idx) && idx < e.recipients.size()) e.recipients[idx].done = true;
    } else if (line.rfind("notified ", 0) == 0) {
        if (to_number(line.substr(9), idx) && idx < e.recipients.size()) notified[idx] = true;
    } else if (line.rfind("failed\t", 0) == 0) {
        std::vector<std::string_view> f;
        std::size_t p = 7;
        for (int k = 0; k < 4; ++k) {
            std::size_t t = line.find('\t', p);
            if (t == std::string_view::npos) return;
            f.push_back(line.substr(p, t - p));
            p = t + 1;
        }
        f.push_back(line.substr(p));
        AttemptResult r;
        r.outcome = Outcome::Failed;
        if (!to_number(f[0], idx) || idx >= e.recipients.size() || !to_number(f[1], r.code)) return;
        r.status = undash(f[2]);
        r.remote = undash(f[3]);
        r.diagnostic = undash(f[4]);
        e.recipients[idx].done = true;
        e.recipients[idx].last = std::move(r);
        failed[idx] = true;
    } else if (line.rfind("attempt ", 0) == 0) {
        std::string_view rest = line.substr(8);
        std::size_t sp = rest.find(' ');
        std::uint32_t n = 0;
        std::int64_t next = 0;
        if (sp != std::string_view::npos && to_number(rest.substr(0, sp), n) && to_number(rest.substr(sp + 1), next)) {
            e.attempts = n;
            e.next_attempt = next;
        }
    } else if (line.rfind("principal ", 0) == 0) {
        e.principal.assign(line.substr(10));
    } else if (line == "warned") {
        e.delay_warned = true;
    } else if (line == "hold") {
        e.held = true;
    } else if (line == "release") {
        e.held = false;
    } else if (line.rfind("quarantine ", 0) == 0) {
        e.quarantine = std::string(line.substr(11));
    } else if (line == "quarantine-release") {
        e.quarantine.clear();
    }
}

}  // namespace

std::optional<ParsedSpoolFile> parse_spool_file(std::string_view c) {
    ParsedSpoolFile out;
    Envelope& e = out.envelope;
    std::size_t pos = 0;
    bool first = true, have_size = false;
    while (true) {
        std::size_t nl = c.find('\n', pos);
        if (nl == std::string_view::npos) return std::nullopt;
        std::string_view line = c.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) break;
        if (first) {
            if (line != "rampart-spool 1") return std::nullopt;
            first = false;
            continue;
        }
        if (line.rfind("rcpt\t", 0) == 0) {
            std::string_view rest = line.substr(5);
            std::size_t t1 = rest.find('\t');
            if (t1 == std::string_view::npos) return std::nullopt;
            std::size_t t2 = rest.find('\t', t1 + 1);
            if (t2 == std::string_view::npos) return std::nullopt;
            Recipient r;
            if (!to_number(rest.substr(0, t1), r.notify)) return std::nullopt;
            r.orcpt = undash(rest.substr(t1 + 1, t2 - t1 - 1));
            r.address.assign(rest.substr(t2 + 1));
            e.recipients.push_back(std::move(r));
            continue;
        }
        std::size_t sp = line.find(' ');
        if (sp == std::string_view::npos) return std::nullopt;
        std::string_view key = line.substr(0, sp), value = line.substr(sp + 1);
        if (key == "id") e.id.assign(value);
        else if (key == "received") { if (!to_number(value, e.received_at)) return std::nullopt; }
        else if (key == "listener") e.listener.assign(value);
        else if (key == "client") e.client.assign(value);
        else if (key == "helo") e.helo.assign(value);
        else if (key == "tls") e.tls = undash(value);
        else if (key == "sender") e.sender.assign(value);
        else if (key == "body") e.body = value == "7BIT" ? smtp::Body::SevenBit : value == "8BITMIME" ? smtp::Body::EightBitMime : smtp::Body::Unspecified;
        else if (key == "smtputf8") e.smtputf8 = value == "1";
        else if (key == "ret") e.ret = value == "FULL" ? smtp::Ret::Full : value == "HDRS" ? smtp::Ret::Hdrs : smtp::Ret::Unspecified;
        else if (key == "envid") e.envid = undash(value);
        else if (key == "size") { if (!to_number(value, e.size)) return std::nullopt; have_size = true; }
        else return std::nullopt;
    }
    if (!have_size || e.id.empty() || e.recipients.empty()) return std::nullopt;
    out.message_offset = pos;
    if (c.size() - pos < e.size + kEndRecord.size()) return std::nullopt;
    if (c.substr(pos + e.size, kEndRecord.size()) != kEndRecord) return std::nullopt;
    std::size_t p = pos + e.size + kEndRecord.size();
    std::vector<bool> failed(e.recipients.size()), notified(e.recipients.size());
    while (p < c.size()) {
        std::size_t nl = c.find('\n', p);
        if (nl == std::string_view::npos) break;  // torn record: ignore it
        apply_record(e, c.substr(p, nl - p), failed, notified);
        p = nl + 1;
    }
    for (std::size_t i = 0; i < e.recipients.size(); ++i)
        if (failed[i] && !notified[i]) e.dsn_pending.push_back(i);
    return out;
}

}  // namespace rampart::queue
