// admin/http_request.cpp — the bounded HTTP/1.1 request parser (see the header).
#include "admin/http_request.hpp"

#include <algorithm>
#include <cctype>

namespace rampart::admin {
namespace {

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// Field values: visible ASCII, obs-text, SP and HTAB; no CR, LF or NUL.
bool valid_value(std::string_view v) {
    return std::none_of(v.begin(), v.end(), [](char c) {
        unsigned char u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

// Origin-form target: "/" then visible ASCII (no spaces, controls or non-ASCII).
bool valid_target(std::string_view t) {
    if (t.empty() || t.front() != '/') return false;
    return std::all_of(t.begin(), t.end(), [](char c) {
        unsigned char u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
    });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

HttpParse bad(int status, std::string why) {
    HttpParse p;
    p.status = HttpParse::Status::Bad;
    p.error_status = status;
    p.error = std::move(why);
    return p;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
    for (const auto& [n, v] : headers)
        if (iequals(n, name)) return std::string_view(v);
    return std::nullopt;
}

HttpParse parse_http_request(std::string_view data, const HttpLimits& limits) {
    std::size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos || end + 4 > limits.max_head) {
        // A bare LF anywhere in what we have can never become valid.
        std::string_view seen = data.substr(0, std::min(data.size(), limits.max_head));
        for (std::size_t i = 0; i < seen.size(); ++i)
            if (seen[i] == '\n' && (i == 0 || seen[i - 1] != '\r')) return bad(400, "bare LF in the request head");
        if (data.size() >= limits.max_head) return bad(431, "request head larger than " + std::to_string(limits.max_head) + " bytes");
        return {};
    }
    std::string_view head = data.substr(0, end + 2);   // every line with its CRLF
    std::vector<std::string_view> lines;
    for (std::size_t pos = 0; pos < head.size();) {
        std::size_t eol = head.find("\r\n", pos);
        std::string_view line = head.substr(pos, eol - pos);
        if (line.find('\r') != std::string_view::npos || line.find('\n') != std::string_view::npos)
            return bad(400, "bare CR or LF in the request head");
        lines.push_back(line);
        pos = eol + 2;
    }
    HttpParse p;
    HttpRequest& r = p.request;
    // request-line = method SP request-target SP HTTP-version (exactly one SP each).
    std::string_view rl = lines.front();
    std::size_t sp1 = rl.find(' ');
    std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : rl.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || rl.find(' ', sp2 + 1) != std::string_view::npos) return bad(400, "malformed request line");
    std::string_view method = rl.substr(0, sp1), target = rl.substr(sp1 + 1, sp2 - sp1 - 1), version = rl.substr(sp2 + 1);
    if (!is_token(method)) return bad(400, "malformed method");
    if (!valid_target(target)) return bad(400, "request target must be a path (origin-form)");
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !std::isdigit(static_cast<unsigned char>(version[5])) ||
        version[6] != '.' || !std::isdigit(static_cast<unsigned char>(version[7])))
        return bad(400, "malformed HTTP version");
    if (version[5] != '1') return bad(505, "only HTTP/1.x is spoken here");
    r.method.assign(method);
    r.target.assign(target);
    r.minor_version = version[7] - '0';
    std::size_t q = target.find('?');
    r.path.assign(target.substr(0, q));
    if (q != std::string_view::npos) r.query.assign(target.substr(q + 1));
    if (r.path.find('#') != std::string::npos) return bad(400, "fragment in the request target");
    if (lines.size() - 1 > limits.max_headers) return bad(431, "more than " + std::to_string(limits.max_headers) + " header fields");
    for (std::size_t i = 1; i < lines.size(); ++i) {
        std::string_view line = lines[i];
        if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) return bad(400, "obsolete line folding");
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) return bad(400, "header field without a colon");
        std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
        if (!is_token(name)) return bad(400, "malformed header field name");
        if (!valid_value(value)) return bad(400, "control character in a header field value");
        r.headers.emplace_back(std::string(name), std::string(value));
    }
    if (r.header("Transfer-Encoding")) return bad(501, "Transfer-Encoding is not supported; send Content-Length");
    if (r.minor_version >= 1 && !r.header("Host")) return bad(400, "HTTP/1.1 request without Host");
    std::size_t length = 0;
    std::optional<std::string_view> seen_length;
    for (const auto& [n, v] : r.headers) {
        if (!iequals(n, "Content-Length")) continue;
        if (seen_length && *seen_length != v) return bad(400, "conflicting Content-Length fields");
        seen_length = v;
        if (v.empty() || v.size() > 12 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return bad(400, "malformed Content-Length");
        length = std::stoull(v);
    }
    if (length > limits.max_body) return bad(413, "body larger than " + std::to_string(limits.max_body) + " bytes");
    std::size_t body_start = end + 4;
    if (data.size() - body_start < length) return {};   // Incomplete: the body is on its way
    r.body.assign(data.substr(body_start, length));
    p.consumed = body_start + length;
    p.status = HttpParse::Status::Complete;
    return p;
}

}  // namespace rampart::admin
