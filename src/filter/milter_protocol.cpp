// filter/milter_protocol.cpp — milter packets built and parsed (see milter_protocol.hpp).
#include "filter/milter_protocol.hpp"

#include <algorithm>

#include "util/text.hpp"

namespace rampart::filter::milter {
namespace {

void put32(std::string& out, std::uint32_t v) {
    out += static_cast<char>(v >> 24);
    out += static_cast<char>(v >> 16);
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v);
}

std::uint32_t get32(std::string_view s) {
    auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])); };
    return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

void put_z(std::string& out, std::string_view s) {
    // A NUL inside would end the string early on the milter's side: cut it there.
    out.append(s.substr(0, s.find('\0')));
    out += '\0';
}

Error garbage(std::string what) { return Error{0, "milter protocol error: " + std::move(what)}; }

// Reads one NUL-terminated string from the front of `in`.
std::optional<std::string_view> take_z(std::string_view& in) {
    std::size_t nul = in.find('\0');
    if (nul == std::string_view::npos) return std::nullopt;
    std::string_view s = in.substr(0, nul);
    in.remove_prefix(nul + 1);
    return s;
}

bool field_name(std::string_view s) {
    if (s.empty() || s.size() > 200) return false;
    for (char c : s)
        if (c <= 0x20 || c >= 0x7f || c == ':') return false;
    return true;
}

// A value may be folded with "\n" or "\r\n" followed by white space; no other control
// characters than TAB; no 8-bit bytes other than UTF-8 is checked by nobody downstream,
// so 8-bit bytes are allowed as in any header (RFC 6532).
bool header_value(std::string_view v) {
    for (std::size_t i = 0; i < v.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(v[i]);
        if (c == '\r') {
            if (i + 1 >= v.size() || v[i + 1] != '\n') return false;
            continue;
        }
        if (c == '\n') {
            if (i + 1 >= v.size() || (v[i + 1] != ' ' && v[i + 1] != '\t')) return false;
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    }
    return true;
}

// Printable ASCII only, at most kMaxReplyText characters (what a client may read).
std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (out.size() >= kMaxReplyText) break;
        if (c >= 0x20 && c < 0x7f) out += c;
        else if (c == '\t' || c == '\n' || c == '\r') {
            if (!out.empty() && out.back() != ' ') out += ' ';
        } else out += '?';
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// An address from addrcpt/delrcpt/chgfrom: angle brackets removed; printable, no spaces.
std::optional<std::string> address(std::string_view s) {
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
    if (s.empty() || s.size() > 512) return std::nullopt;
    for (char c : s)
        if (c <= 0x20 || c >= 0x7f) return std::nullopt;
    return std::string(s);
}

// "550 5.7.1 text" (possibly several lines "550-5.7.1 a\r\n550 5.7.1 b"): the first
// line's code and enhanced code, the lines' texts joined.
Result<smtp::Reply> reply_code(std::string_view s) {
    if (s.size() < 3) return garbage("reply code too short");
    int code = 0;
    for (int i = 0; i < 3; ++i) {
        if (s[i] < '0' || s[i] > '9') return garbage("reply code is not a number");
        code = code * 10 + (s[i] - '0');
    }
    if (!((code >= 400 && code <= 459) || (code >= 500 && code <= 559))) return garbage("reply code " + std::to_string(code) + " is not 4xx or 5xx");
    std::string enhanced, text;
    std::string_view rest = s;
    while (!rest.empty()) {
        std::size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() < 3 || line.substr(0, 3) != s.substr(0, 3)) return garbage("reply lines with different codes");
        line.remove_prefix(3);
        if (!line.empty() && (line[0] == ' ' || line[0] == '-')) line.remove_prefix(1);
        else if (!line.empty()) return garbage("reply code not followed by a space");
        // An enhanced status code "c.s.d" of the reply's class.
        std::size_t sp = line.find(' ');
        std::string_view word = line.substr(0, sp);
        bool enh = word.size() >= 5 && word.size() <= 11 && word[0] == s[0] && word[1] == '.';
        int dots = 0;
        for (char c : word) {
            if (c == '.') ++dots;
            else if (c < '0' || c > '9') enh = false;
        }
        if (enh && dots == 2) {
            if (enhanced.empty()) enhanced = word;
            line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
        }
        std::string t = printable(line);
        if (!t.empty()) text += (text.empty() ? "" : " ") + t;
    }
    if (enhanced.empty()) enhanced = code >= 500 ? "5.7.1" : "4.7.1";
    if (text.size() > kMaxReplyText) text.resize(kMaxReplyText);
    if (text.empty()) text = code >= 500 ? "message refused" : "try again later";
    return smtp::Reply(code, enhanced, text);
}

}  // namespace

std::string packet(Command cmd, std::string_view data) {
    std::string out;
    out.reserve(5 + data.size());
    put32(out, static_cast<std::uint32_t>(data.size() + 1));
    out += static_cast<char>(cmd);
    out.append(data);
    return out;
}

std::string optneg_packet(std::uint32_t version, std::uint32_t actions, std::uint32_t protocol) {
    std::string data;
    put32(data, version);
    put32(data, actions);
    put32(data, protocol);
    return packet(Command::OptNeg, data);
}

std::string connect_packet(std::string_view hostname, char family, std::uint16_t port, std::string_view address) {
    std::string data;
    put_z(data, hostname);
    data += family;
    if (family != 'U') {
        data += static_cast<char>(port >> 8);
        data += static_cast<char>(port & 0xff);
        put_z(data, address);
    }
    return packet(Command::Connect, data);
}

std::string macro_packet(Command for_cmd, const std::vector<std::pair<std::string, std::string>>& macros) {
    std::string data(1, static_cast<char>(for_cmd));
    for (const auto& [name, value] : macros) {
        put_z(data, name);
        put_z(data, value);
    }
    return packet(Command::Macro, data);
}

std::string helo_packet(std::string_view helo) {
    std::string data;
    put_z(data, helo);
    return packet(Command::Helo, data);
}

std::string mail_packet(const std::vector<std::string>& args) {
    std::string data;
    for (const std::string& a : args) put_z(data, a);
    return packet(Command::Mail, data);
}

std::string rcpt_packet(const std::vector<std::string>& args) {
    std::string data;
    for (const std::string& a : args) put_z(data, a);
    return packet(Command::Rcpt, data);
}

std::string header_packet(std::string_view name, std::string_view value) {
    std::string data;
    put_z(data, name);
    put_z(data, value);
    return packet(Command::Header, data);
}

std::string body_packet(std::string_view chunk) { return packet(Command::Body, chunk.substr(0, kBodyChunk)); }

Result<std::size_t> packet_length(std::string_view four_bytes) {
    if (four_bytes.size() != 4) return garbage("short length prefix");
    std::uint32_t n = get32(four_bytes);
    if (n == 0) return garbage("empty packet");
    if (n > kMaxPacket) return garbage("packet of " + std::to_string(n) + " bytes (the limit is " + std::to_string(kMaxPacket) + ")");
    return static_cast<std::size_t>(n);
}

bool Reply::is_final() const {
    switch (kind) {
        case Kind::Accept:
        case Kind::Continue:
        case Kind::Discard:
        case Kind::Reject:
        case Kind::Tempfail:
        case Kind::ReplyCode:
        case Kind::Skip:
        case Kind::Shutdown:
        case Kind::ConnFail: return true;
        default: return false;
    }
}

bool Reply::is_modification() const {
    switch (kind) {
        case Kind::AddHeader:
        case Kind::InsertHeader:
        case Kind::ChangeHeader:
        case Kind::AddRcpt:
        case Kind::DelRcpt:
        case Kind::ReplaceBody:
        case Kind::Quarantine:
        case Kind::ChangeFrom: return true;
        default: return false;
    }
}

Result<Reply> parse_reply(std::string_view pkt) {
    if (pkt.empty()) return garbage("empty packet");
    if (pkt.size() > kMaxPacket) return garbage("packet too large");
    char cmd = pkt[0];
    std::string_view in = pkt.substr(1);
    Reply r;
    using K = Reply::Kind;
    auto bare = [&](K k) -> Result<Reply> {
        if (!in.empty()) return garbage(std::string("data after reply '") + cmd + "'");
        r.kind = k;
        return r;
    };
    auto header = [&](K k, bool indexed) -> Result<Reply> {
        r.kind = k;
        if (indexed) {
            if (in.size() < 4) return garbage("header index missing");
            r.index = get32(in);
            in.remove_prefix(4);
        }
        auto name = take_z(in);
        auto value = name ? take_z(in) : std::nullopt;
        if (!name || !value) return garbage("header name or value not NUL-terminated");
        if (!in.empty()) return garbage("data after a header");
        if (!field_name(*name)) return garbage("header name is not a field name");
        if (!header_value(*value)) return garbage("header value with control characters or a broken fold");
        r.name = *name;
        r.value = *value;
        return r;
    };
    auto addr = [&](K k, bool params) -> Result<Reply> {
        r.kind = k;
        auto a = take_z(in);
        if (!a) return garbage("address not NUL-terminated");
        if (params && !in.empty() && !take_z(in)) return garbage("parameters not NUL-terminated");
        if (!in.empty()) return garbage("data after an address");
        if (k == K::ChangeFrom && *a == "<>") {   // the null sender
            r.text.clear();
            return r;
        }
        auto clean = address(*a);
        if (!clean) return garbage("bad address");
        r.text = std::move(*clean);
        return r;
    };
    switch (cmd) {
        case 'O': {
            if (in.size() < 12) return garbage("option negotiation too short");
            r.kind = K::OptNeg;
            r.version = get32(in);
            r.actions = get32(in.substr(4));
            r.protocol = get32(in.substr(8));
            return r;   // a symbol list may follow (SETSYMLIST): not used
        }
        case 'a': return bare(K::Accept);
        case 'c': return bare(K::Continue);
        case 'd': return bare(K::Discard);
        case 'r': return bare(K::Reject);
        case 't': return bare(K::Tempfail);
        case 's': return bare(K::Skip);
        case 'p': return bare(K::Progress);
        case '4': return bare(K::Shutdown);
        case 'f': return bare(K::ConnFail);
        case 'y': {
            auto text = take_z(in);
            if (!text || !in.empty()) return garbage("reply code not NUL-terminated");
            auto rc = reply_code(*text);
            if (!rc) return rc.error();
            r.kind = K::ReplyCode;
            r.reply = std::move(*rc);
            return r;
        }
        case 'h': return header(K::AddHeader, false);
        case 'i': return header(K::InsertHeader, true);
        case 'm': return header(K::ChangeHeader, true);
        case '+': return addr(K::AddRcpt, false);
        case '2': return addr(K::AddRcpt, true);
        case '-': return addr(K::DelRcpt, false);
        case 'e': return addr(K::ChangeFrom, true);
        case 'b':
            r.kind = K::ReplaceBody;
            r.text = in;
            return r;
        case 'q': {
            auto reason = take_z(in);
            if (!reason || !in.empty()) return garbage("quarantine reason not NUL-terminated");
            r.kind = K::Quarantine;
            r.text = printable(*reason);
            if (r.text.empty()) r.text = "quarantined by the milter";
            return r;
        }
        case 'l': r.kind = K::SetSymList; return r;
        default: break;
    }
    std::string shown = cmd >= 0x21 && cmd < 0x7f ? std::string(1, cmd) : "0x" + std::to_string(static_cast<unsigned char>(cmd));
    return garbage("unknown reply '" + shown + "'");
}

std::string_view kind_name(Reply::Kind k) {
    using K = Reply::Kind;
    switch (k) {
        case K::OptNeg: return "optneg";
        case K::Accept: return "accept";
        case K::Continue: return "continue";
        case K::Discard: return "discard";
        case K::Reject: return "reject";
        case K::Tempfail: return "tempfail";
        case K::ReplyCode: return "replycode";
        case K::Skip: return "skip";
        case K::Progress: return "progress";
        case K::Shutdown: return "shutdown";
        case K::ConnFail: return "connfail";
        case K::AddHeader: return "addheader";
        case K::InsertHeader: return "insheader";
        case K::ChangeHeader: return "chgheader";
        case K::AddRcpt: return "addrcpt";
        case K::DelRcpt: return "delrcpt";
        case K::ReplaceBody: return "replbody";
        case K::Quarantine: return "quarantine";
        case K::ChangeFrom: return "chgfrom";
        case K::SetSymList: return "setsymlist";
    }
    return "?";
}

std::string header_line(std::string_view name, std::string_view value) {
    std::string out(name);
    out += ':';
    if (value.empty() || (value[0] != ' ' && value[0] != '\t')) out += ' ';
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\r') continue;   // header_value(): only ever before '\n'
        if (value[i] == '\n') out += "\r\n";
        else out += value[i];
    }
    return out;
}

std::vector<HeaderField> header_fields(std::string_view message, std::size_t& body_offset) {
    std::vector<HeaderField> out;
    std::size_t pos = 0;
    body_offset = message.size();
    while (pos < message.size()) {
        std::size_t nl = message.find('\n', pos);
        std::size_t next = nl == std::string_view::npos ? message.size() : nl + 1;
        std::string_view line = message.substr(pos, next - pos);
        std::string_view content = line;
        if (!content.empty() && content.back() == '\n') content.remove_suffix(1);
        if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
        if (content.empty()) {
            body_offset = next;
            break;
        }
        if ((content[0] == ' ' || content[0] == '\t') && !out.empty()) {
            out.back().value += '\n';
            out.back().value.append(content);
        } else {
            std::size_t colon = content.find(':');
            if (colon == std::string_view::npos) out.push_back({std::string(content), ""});
            else out.push_back({std::string(content.substr(0, colon)), std::string(content.substr(colon + 1))});
        }
        pos = next;
    }
    return out;
}

std::string crlf_body(std::string_view body) {
    std::string out;
    out.reserve(body.size() + body.size() / 32);
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) out += '\r';
        out += body[i];
    }
    return out;
}

std::string edit_message(std::string_view message, const std::vector<Reply>& mods) {
    using K = Reply::Kind;
    // Each field as its text in the message (with its CRLF), edited in place.
    std::vector<std::pair<std::string, std::string>> fields;   // lower-case name, text
    std::size_t body_offset = 0;
    {
        std::size_t pos = 0;
        std::vector<HeaderField> parsed = header_fields(message, body_offset);
        for (const HeaderField& f : parsed) {
            // Copy the field's own bytes: from pos to the end of its last line.
            std::size_t lines = 1 + static_cast<std::size_t>(std::count(f.value.begin(), f.value.end(), '\n'));
            std::size_t end = pos;
            for (std::size_t i = 0; i < lines; ++i) {
                std::size_t nl = message.find('\n', end);
                end = nl == std::string_view::npos ? message.size() : nl + 1;
            }
            std::string text(message.substr(pos, end - pos));
            if (text.empty() || text.back() != '\n') text += "\r\n";
            fields.emplace_back(util::ascii_lower(f.name), std::move(text));
            pos = end;
        }
    }
    std::optional<std::string> body;
    for (const Reply& m : mods) {
        switch (m.kind) {
            case K::AddHeader: fields.emplace_back(util::ascii_lower(m.name), header_line(m.name, m.value) + "\r\n"); break;
            case K::InsertHeader: {
                std::size_t at = std::min<std::size_t>(m.index, fields.size());
                fields.insert(fields.begin() + static_cast<std::ptrdiff_t>(at),
                              {util::ascii_lower(m.name), header_line(m.name, m.value) + "\r\n"});
                break;
            }
            case K::ChangeHeader: {
                std::string lower = util::ascii_lower(m.name);
                std::uint32_t want = m.index == 0 ? 1 : m.index, seen = 0;
                bool done = false;
                for (std::size_t i = 0; i < fields.size() && !done; ++i) {
                    if (fields[i].first != lower || ++seen != want) continue;
                    if (m.value.empty()) fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(i));
                    else fields[i].second = header_line(m.name, m.value) + "\r\n";
                    done = true;
                }
                if (!done && !m.value.empty()) fields.emplace_back(lower, header_line(m.name, m.value) + "\r\n");
                break;
            }
            case K::ReplaceBody:
                if (!body) body.emplace();
                body->append(m.text);
                break;
            default: break;
        }
    }
    std::string out;
    out.reserve(message.size() + 1024);
    for (const auto& f : fields) out += f.second;
    out += "\r\n";
    if (body) {
        out += crlf_body(*body);
        if (!body->empty() && out.back() != '\n') out += "\r\n";
    } else {
        out.append(message.substr(body_offset));
    }
    return out;
}

}  // namespace rampart::filter::milter
