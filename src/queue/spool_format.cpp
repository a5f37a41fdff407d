// queue/spool_format.cpp — encode and parse spool files (version 2; version 1 files,
// written by 0.1, are read too).
#include "queue/spool_format.hpp"
#include "util/text.hpp"

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

std::string undash(std::string_view s) { return s == "-" ? std::string() : std::string(s); }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Version 2 text field: any bytes in, one TAB- and line-free token out. Control bytes,
// DEL, '%' and (so a record stays one line and TAB-separated fields stay apart) TAB, CR
// and LF become %HH; the empty string is "-" and a lone "-" is "%2D". Injective: field()
// inverts it exactly.
std::string token(std::string_view s) {
    if (s.empty()) return "-";
    if (s == "-") return "%2D";
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F || c == '%') util::append_hex_escape(out, '%', c);
        else out += ch;
    }
    return out;
}

// Inverse of token(); nullopt for a malformed escape.
std::optional<std::string> field(std::string_view s) {
    if (s == "-") return std::string();
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

// Splits `line` at TABs into exactly `n` fields; false if the count differs.
bool split_tabs(std::string_view line, std::size_t n, std::vector<std::string_view>& out) {
    out.clear();
    std::size_t p = 0;
    while (true) {
        std::size_t t = line.find('\t', p);
        out.push_back(line.substr(p, t == std::string_view::npos ? std::string_view::npos : t - p));
        if (t == std::string_view::npos) break;
        p = t + 1;
    }
    return out.size() == n;
}

}  // namespace

std::string encode_header(const Envelope& e) {
    std::string h;
    h.reserve(256 + e.recipients.size() * 64);
    h += "rampart-spool 2\n";
    h += "id " + token(e.id) + "\n";
    h += "received " + std::to_string(e.received_at) + "\n";
    h += "listener " + token(e.listener) + "\n";
    h += "client " + token(e.client) + "\n";
    h += "helo " + token(e.helo) + "\n";
    h += "tls " + token(e.tls) + "\n";
    h += "sender " + token(e.sender) + "\n";
    h += "body " + std::string(body_text(e.body)) + "\n";
    h += std::string("smtputf8 ") + (e.smtputf8 ? "1" : "0") + "\n";
    h += "ret " + std::string(ret_text(e.ret)) + "\n";
    h += "envid " + token(e.envid) + "\n";
    for (const Recipient& r : e.recipients)
        h += "rcpt\t" + std::to_string(r.notify) + "\t" + token(r.orcpt) + "\t" + token(r.alias) + "\t" +
             token(r.address) + "\n";
    h += "size " + std::to_string(e.size) + "\n\n";
    return h;
}

std::string encode_done(std::size_t i) { return "done " + std::to_string(i) + "\n"; }

std::string encode_failed(std::size_t i, const AttemptResult& r) {
    return "failed2\t" + std::to_string(i) + "\t" + std::to_string(r.code) + "\t" + token(r.status) + "\t" +
           token(r.remote) + "\t" + token(r.diagnostic) + "\n";
}

std::string encode_quarantine(std::string_view reason) { return "hold\nquarantine " + token(reason) + "\n"; }

std::string encode_notified(std::size_t i) { return "notified " + std::to_string(i) + "\n"; }

std::string encode_attempt(std::uint32_t attempts, std::int64_t next_attempt) {
    return "attempt " + std::to_string(attempts) + " " + std::to_string(next_attempt) + "\n";
}

std::string encode_principal(const Envelope& env) {
    if (env.principal.empty()) return {};
    return "principal " + token(env.principal) + "\n";
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
    } else if (line.rfind("failed\t", 0) == 0 || line.rfind("failed2\t", 0) == 0) {
        // "failed" (0.1): raw texts, TABs and line ends replaced by spaces, the diagnostic
        // last (it may hold TABs only if hand-edited: they stay). "failed2": token()s.
        bool escaped = line[6] == '2';
        std::vector<std::string_view> f;
        std::size_t p = escaped ? 8 : 7;
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
        if (escaped) {
            auto status = field(f[2]), remote = field(f[3]), diagnostic = field(f[4]);
            if (!status || !remote || !diagnostic || f[4].find('\t') != std::string_view::npos) return;
            r.status = std::move(*status);
            r.remote = std::move(*remote);
            r.diagnostic = std::move(*diagnostic);
        } else {
            r.status = undash(f[2]);
            r.remote = undash(f[3]);
            r.diagnostic = undash(f[4]);
        }
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
        if (auto p = field(line.substr(10))) e.principal = *p;
    } else if (line == "warned") {
        e.delay_warned = true;
    } else if (line == "hold") {
        e.held = true;
    } else if (line == "release") {
        e.held = false;
    } else if (line.rfind("quarantine ", 0) == 0) {
        if (auto q = field(line.substr(11))) e.quarantine = *q;
    } else if (line == "quarantine-release") {
        e.quarantine.clear();
    }
}

}  // namespace

namespace {

// 0.1 rcpt record: notify, ORCPT (raw: it could hold TABs), address. The address cannot
// hold a TAB (RFC 5321 syntax), so it is the last field; an ORCPT that is not valid
// (a TAB split it) is dropped rather than carried into a report.
std::optional<Recipient> rcpt_v1(std::string_view rest) {
    std::size_t t1 = rest.find('\t'), tl = rest.rfind('\t');
    if (t1 == std::string_view::npos || tl == t1) return std::nullopt;
    Recipient r;
    if (!to_number(rest.substr(0, t1), r.notify)) return std::nullopt;
    r.orcpt = undash(rest.substr(t1 + 1, tl - t1 - 1));
    if (!r.orcpt.empty() && !smtp::valid_orcpt(r.orcpt)) r.orcpt.clear();
    r.address.assign(rest.substr(tl + 1));
    return r;
}

// Version 2 rcpt record: notify, ORCPT, alias, address, each a token().
std::optional<Recipient> rcpt_v2(std::string_view rest) {
    std::vector<std::string_view> f;
    if (!split_tabs(rest, 4, f)) return std::nullopt;
    Recipient r;
    auto orcpt = field(f[1]), alias = field(f[2]), address = field(f[3]);
    if (!to_number(f[0], r.notify) || !orcpt || !alias || !address) return std::nullopt;
    r.orcpt = std::move(*orcpt);
    r.alias = std::move(*alias);
    r.address = std::move(*address);
    return r;
}

}  // namespace

std::optional<ParsedSpoolFile> parse_spool_file(std::string_view c) {
    ParsedSpoolFile out;
    Envelope& e = out.envelope;
    std::size_t pos = 0;
    bool first = true, have_size = false;
    int version = 0;
    while (true) {
        std::size_t nl = c.find('\n', pos);
        if (nl == std::string_view::npos) return std::nullopt;
        std::string_view line = c.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) break;
        if (first) {
            if (line == "rampart-spool 1") version = 1;
            else if (line == "rampart-spool 2") version = 2;
            else return std::nullopt;
            first = false;
            continue;
        }
        if (line.rfind("rcpt\t", 0) == 0) {
            auto r = version == 1 ? rcpt_v1(line.substr(5)) : rcpt_v2(line.substr(5));
            if (!r) return std::nullopt;
            e.recipients.push_back(std::move(*r));
            continue;
        }
        std::size_t sp = line.find(' ');
        if (sp == std::string_view::npos) return std::nullopt;
        std::string_view key = line.substr(0, sp), raw = line.substr(sp + 1);
        // A text value: version 1 stored it raw ("-" for an empty tls and envid).
        auto text = [version, raw, key]() -> std::optional<std::string> {
            if (version == 2) return field(raw);
            return key == "tls" || key == "envid" ? undash(raw) : std::string(raw);
        };
        std::string_view value = raw;
        if (key == "id" || key == "listener" || key == "client" || key == "helo" || key == "tls" || key == "sender" ||
            key == "envid") {
            auto t = text();
            if (!t) return std::nullopt;
            if (key == "id") e.id = std::move(*t);
            else if (key == "listener") e.listener = std::move(*t);
            else if (key == "client") e.client = std::move(*t);
            else if (key == "helo") e.helo = std::move(*t);
            else if (key == "tls") e.tls = std::move(*t);
            else if (key == "sender") e.sender = std::move(*t);
            else e.envid = std::move(*t);
        }
        else if (key == "received") { if (!to_number(value, e.received_at)) return std::nullopt; }
        else if (key == "body") e.body = value == "7BIT" ? smtp::Body::SevenBit : value == "8BITMIME" ? smtp::Body::EightBitMime : smtp::Body::Unspecified;
        else if (key == "smtputf8") e.smtputf8 = value == "1";
        else if (key == "ret") e.ret = value == "FULL" ? smtp::Ret::Full : value == "HDRS" ? smtp::Ret::Hdrs : smtp::Ret::Unspecified;
        else if (key == "size") { if (!to_number(value, e.size)) return std::nullopt; have_size = true; }
        else return std::nullopt;
    }
    if (!have_size || e.id.empty() || e.recipients.empty()) return std::nullopt;
    out.message_offset = pos;
    // (Written so that a size near 2^64 cannot wrap the sum around.)
    if (e.size > c.size() - pos || c.size() - pos - e.size < kEndRecord.size()) return std::nullopt;
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
