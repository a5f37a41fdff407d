// filter/icap_reply.cpp — an ICAP reply read incrementally and interpreted (see icap_reply.hpp).
#include "filter/icap_reply.hpp"

#include <algorithm>

#include "util/text.hpp"

namespace rampart::filter {
namespace {

constexpr std::size_t kMaxThreat = 200;
constexpr std::size_t kCompactAt = 64 * 1024;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// "ICAP/1.0 200 OK", "HTTP/1.1 403 Forbidden": the status, or -1.
int status_of(std::string_view line, std::string_view protocol) {
    if (line.substr(0, protocol.size()) != protocol) return -1;
    line.remove_prefix(protocol.size());
    // "1.0 " or "1.1 "
    if (line.size() < 4 || !is_digit(line[0]) || line[1] != '.' || !is_digit(line[2]) || line[3] != ' ') return -1;
    line.remove_prefix(4);
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) return -1;
    if (line.size() > 3 && line[3] != ' ') return -1;
    return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

ClamdReply error(std::string text) { return {ClamdReply::Kind::Error, {}, std::move(text)}; }

// The threat named by the headers c-icap and commercial scanners use, or "" if none is there.
// X-Infection-Found: Type=0; Resolution=2; Threat=NAME;
// X-Virus-ID: NAME
// X-Violations-Found: COUNT \n\t FILENAME \n\t THREAT \n\t ID \n\t DISPOSITION ...
bool threat_of(const IcapResponse& r, std::string& name) {
    bool found = false;
    name.clear();
    if (const std::string* v = r.header("x-infection-found")) {
        found = true;
        std::string_view s(*v);
        while (!s.empty() && name.empty()) {
            std::size_t semi = s.find(';');
            std::string_view param = trim(s.substr(0, semi));
            if (param.size() > 7 && util::ascii_lower(std::string(param.substr(0, 7))) == "threat=")
                name = icap_printable(trim(param.substr(7)), kMaxThreat);
            s = semi == std::string_view::npos ? std::string_view() : s.substr(semi + 1);
        }
    }
    if (const std::string* v = r.header("x-virus-id"); v && name.empty()) {
        found = true;
        name = icap_printable(trim(*v), kMaxThreat);
    }
    if (const std::string* v = r.header("x-violations-found"); v && name.empty()) {
        std::vector<std::string_view> lines;
        std::string_view s(*v);
        for (std::size_t nl; (nl = s.find('\n')) != std::string_view::npos; s.remove_prefix(nl + 1)) lines.push_back(trim(s.substr(0, nl)));
        lines.push_back(trim(s));
        // "0" violations is no finding.
        if (!(lines.size() == 1 && lines[0] == "0")) {
            found = true;
            if (lines.size() >= 3) name = icap_printable(lines[2], kMaxThreat);
        }
    }
    if (found && (name.empty() || name == "-")) name = "unnamed threat";
    return found;
}

}  // namespace

std::string icap_printable(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (s.size() > max) out += "...";
    while (!out.empty() && out.back() == ' ') out.pop_back();
    while (!out.empty() && out.front() == ' ') out.erase(0, 1);
    return out;
}

const std::string* IcapResponse::header(std::string_view lower_name) const {
    for (const auto& [n, v] : headers)
        if (n == lower_name) return &v;
    return nullptr;
}

IcapReplyReader::State IcapReplyReader::fail(std::string why) {
    state_ = State::Error;
    error_ = std::move(why);
    return state_;
}

bool IcapReplyReader::bad(std::string why) {
    fail(std::move(why));
    return false;
}

bool IcapReplyReader::take_line(std::string_view& line) {
    std::size_t crlf = buf_.find("\r\n", pos_);
    if (crlf == std::string::npos) {
        if (buf_.size() - pos_ > kIcapMaxLine) fail("a line of the ICAP reply is longer than " + std::to_string(kIcapMaxLine) + " bytes");
        return false;
    }
    if (crlf - pos_ > kIcapMaxLine) {
        fail("a line of the ICAP reply is longer than " + std::to_string(kIcapMaxLine) + " bytes");
        return false;
    }
    line = std::string_view(buf_).substr(pos_, crlf - pos_);
    pos_ = crlf + 2;
    return true;
}

bool IcapReplyReader::parse_head(std::string_view head) {
    std::vector<std::string_view> lines;
    for (std::size_t crlf; (crlf = head.find("\r\n")) != std::string_view::npos; head.remove_prefix(crlf + 2)) {
        if (crlf > kIcapMaxLine) return bad("a line of the ICAP head is longer than " + std::to_string(kIcapMaxLine) + " bytes");
        lines.push_back(head.substr(0, crlf));
    }
    if (lines.empty()) return bad("empty ICAP reply");
    response_.status = status_of(lines[0], "ICAP/");
    if (response_.status < 0) return bad("not an ICAP status line: \"" + icap_printable(lines[0]) + "\"");
    response_.reason = icap_printable(lines[0].size() > 13 ? lines[0].substr(13) : std::string_view());
    for (std::size_t i = 1; i < lines.size(); ++i) {
        std::string_view l = lines[i];
        if (l.empty()) return bad("empty line inside the ICAP head");
        if (l[0] == ' ' || l[0] == '\t') {   // folded: continues the previous header
            if (response_.headers.empty()) return bad("ICAP head starts with a continuation line");
            response_.headers.back().second += "\n" + std::string(trim(l));
            continue;
        }
        std::size_t colon = l.find(':');
        if (colon == std::string_view::npos || colon == 0) return bad("malformed ICAP header: \"" + icap_printable(l) + "\"");
        std::string name = util::ascii_lower(std::string(l.substr(0, colon)));
        for (char c : name)
            if (c <= 0x20 || c >= 0x7f) return bad("malformed ICAP header name: \"" + icap_printable(name) + "\"");
        if (response_.headers.size() >= kIcapMaxHeaders) return bad("more than " + std::to_string(kIcapMaxHeaders) + " ICAP headers");
        response_.headers.emplace_back(std::move(name), std::string(trim(l.substr(colon + 1))));
    }
    return true;
}

// "res-hdr=0, res-body=161": the sections in order, the last one the body entity.
bool IcapReplyReader::parse_encapsulated(std::string_view value) {
    std::size_t last = 0;
    std::string_view s = value;
    while (!s.empty()) {
        std::size_t comma = s.find(',');
        std::string_view item = trim(s.substr(0, comma));
        s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
        std::size_t eq = item.find('=');
        if (eq == std::string_view::npos) return bad("malformed Encapsulated header: \"" + icap_printable(value) + "\"");
        std::string name = util::ascii_lower(std::string(trim(item.substr(0, eq))));
        std::string_view num = trim(item.substr(eq + 1));
        if (num.empty() || num.size() > 6 || !std::all_of(num.begin(), num.end(), is_digit))
            return bad("malformed Encapsulated offset: \"" + icap_printable(value) + "\"");
        std::size_t off = std::stoul(std::string(num));
        if (name != "req-hdr" && name != "res-hdr" && name != "req-body" && name != "res-body" && name != "null-body" && name != "opt-body")
            return bad("unknown Encapsulated entity \"" + icap_printable(name) + "\"");
        if (!sections_.empty()) {
            const std::string& prev = sections_.back().first;
            if (prev.size() > 4 && prev.substr(prev.size() - 4) == "body") return bad("Encapsulated has entities after the body");
            if (off <= last) return bad("Encapsulated offsets are not ascending: \"" + icap_printable(value) + "\"");
            for (const auto& [n, o] : sections_)
                if (n == name) return bad("Encapsulated names " + name + " twice");
        } else if (off != 0) {
            return bad("Encapsulated does not start at offset 0: \"" + icap_printable(value) + "\"");
        }
        last = off;
        sections_.emplace_back(std::move(name), off);
    }
    if (sections_.empty()) return bad("empty Encapsulated header");
    const std::string& body = sections_.back().first;
    if (body.size() < 4 || body.substr(body.size() - 4) != "body") return bad("Encapsulated has no body entity: \"" + icap_printable(value) + "\"");
    if (body == "opt-body") return bad("Encapsulated opt-body in a scan reply");
    if (last > kIcapMaxHead) return bad("encapsulated HTTP headers longer than " + std::to_string(kIcapMaxHead) + " bytes");
    encapsulated_len_ = last;
    response_.has_body = body != "null-body";
    return true;
}

void IcapReplyReader::run() {
    while (state_ == State::NeedMore) {
        switch (step_) {
            case Step::Head: {
                std::size_t end = buf_.find("\r\n\r\n");
                if (end == std::string::npos) {
                    if (buf_.size() > kIcapMaxHead) fail("ICAP head longer than " + std::to_string(kIcapMaxHead) + " bytes");
                    return;
                }
                if (end + 4 > kIcapMaxHead) return void(fail("ICAP head longer than " + std::to_string(kIcapMaxHead) + " bytes"));
                if (!parse_head(std::string_view(buf_).substr(0, end + 2))) return;
                pos_ = end + 4;
                // Only a 200 carries encapsulated content to read; any other status is complete
                // with its head (a 204 has no body; an error's body is not wanted).
                if (response_.status != 200) {
                    step_ = Step::Done;
                    state_ = State::Done;
                    return;
                }
                const std::string* enc = response_.header("encapsulated");
                if (!enc) return void(fail("ICAP 200 without an Encapsulated header"));
                if (!parse_encapsulated(*enc)) return;
                step_ = Step::Encapsulated;
                break;
            }
            case Step::Encapsulated: {
                if (buf_.size() - pos_ < encapsulated_len_) return;
                std::string_view block = std::string_view(buf_).substr(pos_, encapsulated_len_);
                for (std::size_t i = 0; i + 1 < sections_.size(); ++i) {
                    std::string_view sec = block.substr(sections_[i].second, sections_[i + 1].second - sections_[i].second);
                    if (sec.size() < 4 || sec.substr(sec.size() - 4) != "\r\n\r\n")
                        return void(fail("encapsulated " + sections_[i].first + " does not end with an empty line"));
                    std::string_view first = sec.substr(0, sec.find("\r\n"));
                    if (sections_[i].first == "res-hdr") {
                        response_.http_response = true;
                        response_.http_status = status_of(first, "HTTP/");
                        if (response_.http_status < 0) return void(fail("encapsulated HTTP response has no status line: \"" + icap_printable(first) + "\""));
                    } else if (sections_[i].first == "req-hdr") {
                        response_.http_request = true;
                    } else {
                        return void(fail("encapsulated " + sections_[i].first + " before the body"));
                    }
                }
                pos_ += encapsulated_len_;
                if (!response_.has_body) {
                    step_ = Step::Done;
                    state_ = State::Done;
                    return;
                }
                step_ = Step::ChunkSize;
                break;
            }
            case Step::ChunkSize: {
                std::string_view line;
                if (!take_line(line)) return;
                std::string_view size = trim(line.substr(0, line.find(';')));
                if (size.empty() || size.size() > 15) return void(fail("bad chunk size line: \"" + icap_printable(line) + "\""));
                std::size_t n = 0;
                for (char c : size) {
                    int h = hex_value(c);
                    if (h < 0) return void(fail("bad chunk size line: \"" + icap_printable(line) + "\""));
                    n = n * 16 + static_cast<std::size_t>(h);
                }
                if (n == 0) {
                    step_ = Step::Trailer;
                    break;
                }
                chunk_left_ = n;
                step_ = Step::ChunkData;
                break;
            }
            case Step::ChunkData: {
                std::size_t n = std::min(chunk_left_, buf_.size() - pos_);
                if (n == 0) return;
                if (response_.body.size() + n > max_body_) {
                    // Longer than anything we keep: it differs from what was sent; enough to decide.
                    response_.body_over = true;
                    step_ = Step::Done;
                    state_ = State::Done;
                    return;
                }
                response_.body.append(buf_, pos_, n);
                pos_ += n;
                chunk_left_ -= n;
                if (chunk_left_ == 0) step_ = Step::ChunkEnd;
                break;
            }
            case Step::ChunkEnd: {
                std::string_view line;
                if (!take_line(line)) return;
                if (!line.empty()) return void(fail("chunk data not followed by CRLF"));
                step_ = Step::ChunkSize;
                break;
            }
            case Step::Trailer: {
                std::string_view line;
                if (!take_line(line)) return;
                if (line.empty()) {
                    step_ = Step::Done;
                    state_ = State::Done;
                    return;
                }
                break;   // trailer fields are ignored (each bounded by kIcapMaxLine)
            }
            case Step::Done:
                state_ = State::Done;
                return;
        }
    }
}

IcapReplyReader::State IcapReplyReader::feed(std::string_view bytes) {
    if (state_ != State::NeedMore) return state_;
    buf_.append(bytes);
    run();
    if (pos_ > kCompactAt && step_ != Step::Head) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    return state_;
}

IcapReplyReader::State IcapReplyReader::finish() {
    if (state_ != State::NeedMore) return state_;
    if (buf_.empty()) return fail("the ICAP server closed the connection without a reply");
    return fail("the ICAP server closed the connection in the middle of its reply");
}

ClamdReply interpret_icap_reply(const IcapResponse& r, std::string_view sent) {
    std::string name;
    bool success = r.status == 200 || r.status == 204;
    if (success && threat_of(r, name)) return {ClamdReply::Kind::Infected, name, {}};
    if (r.status == 204) return {ClamdReply::Kind::Clean, {}, {}};
    if (r.status == 200) {
        if (r.http_response && (r.http_status < 200 || r.http_status > 299))
            return {ClamdReply::Kind::Infected, "blocked by the ICAP server (HTTP " + std::to_string(r.http_status) + ")", {}};
        if (!r.has_body || r.body_over || r.body != sent)
            return {ClamdReply::Kind::Infected, "message replaced by the ICAP server", {}};
        return {ClamdReply::Kind::Clean, {}, {}};
    }
    std::string status = std::to_string(r.status) + (r.reason.empty() ? "" : " " + r.reason);
    if (r.status == 100) return error("ICAP server answered 100 Continue, but no preview was sent");
    if (r.status >= 400 && r.status <= 599) return error("ICAP server answered " + status);
    return error("unexpected ICAP status " + status);
}

ClamdReply parse_icap_reply(std::string_view reply, std::string_view sent) {
    IcapReplyReader reader(sent.size());
    reader.feed(reply);
    if (reader.finish() == IcapReplyReader::State::Error) return error(reader.error());
    return interpret_icap_reply(reader.response(), sent);
}

}  // namespace rampart::filter
