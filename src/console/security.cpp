// console/security.cpp — the request checks (see the header).
#include "console/security.hpp"

#include <cctype>

#include "net/cidr.hpp"

namespace rampart::console {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

}  // namespace

std::string session_cookie_name(bool tls) { return tls ? "__Host-rampart_session" : "rampart_session"; }
std::string login_cookie_name(bool tls) { return tls ? "__Host-rampart_login" : "rampart_login"; }

std::optional<std::string> cookie_value(const admin::HttpRequest& req, std::string_view name) {
    auto header = req.header("Cookie");
    if (!header) return std::nullopt;
    std::string_view rest = *header;
    while (!rest.empty()) {
        std::size_t semi = rest.find(';');
        std::string_view pair = trim(rest.substr(0, semi));
        rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
        std::size_t eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        if (trim(pair.substr(0, eq)) == name) return std::string(trim(pair.substr(eq + 1)));
    }
    return std::nullopt;
}

std::string set_cookie(std::string_view name, std::string_view value, bool tls, std::optional<std::chrono::seconds> max_age) {
    std::string out = std::string(name) + "=" + std::string(value) + (tls ? "; Path=/; Secure" : "; Path=/console") +
                      "; HttpOnly; SameSite=Strict";
    if (max_age) out += "; Max-Age=" + std::to_string(max_age->count());
    return out;
}

bool same_origin(const admin::HttpRequest& req, bool tls) {
    auto host = req.header("Host");
    if (!host || host->empty()) return false;
    std::string expected = std::string(tls ? "https://" : "http://") + std::string(*host);
    if (auto origin = req.header("Origin")) return iequals(*origin, expected);
    if (auto referer = req.header("Referer")) {
        if (referer->size() < expected.size() || !iequals(referer->substr(0, expected.size()), expected)) return false;
        return referer->size() == expected.size() || (*referer)[expected.size()] == '/';
    }
    return false;
}

bool loopback_host(const admin::HttpRequest& req) {
    auto field = req.header("Host");
    if (!field) return false;
    std::string_view host = *field;
    if (!host.empty() && host.front() == '[') {
        std::size_t close = host.find(']');
        if (close == std::string_view::npos) return false;
        std::string_view rest = host.substr(close + 1);
        host = host.substr(1, close - 1);
        if (!rest.empty() && rest.front() != ':') return false;
    } else {
        host = host.substr(0, host.find(':'));
    }
    if (iequals(host, "localhost")) return true;
    auto ip = net::IpAddress::parse(host);
    if (!ip) return false;
    net::IpAddress u = ip->unmapped();
    return u.v6 ? u == *net::IpAddress::parse("::1") : u.bytes[0] == 127;
}

std::string safe_next(std::string_view next) {
    constexpr std::string_view kHome = "/console";
    if (next.substr(0, kHome.size()) != kHome) return std::string(kHome);
    if (next.size() > kHome.size() && next[kHome.size()] != '/' && next[kHome.size()] != '?') return std::string(kHome);
    if (next.find("//") != std::string_view::npos || next.find("..") != std::string_view::npos ||
        next.find('\\') != std::string_view::npos)
        return std::string(kHome);
    for (char c : next)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return std::string(kHome);
    if (next.substr(0, 14) == "/console/login") return std::string(kHome);
    return std::string(next);
}

bool is_form_content(const admin::HttpRequest& req) {
    auto ct = req.header("Content-Type");
    if (!ct) return false;
    std::string_view type = trim(ct->substr(0, ct->find(';')));
    return iequals(type, "application/x-www-form-urlencoded");
}

}  // namespace rampart::console
