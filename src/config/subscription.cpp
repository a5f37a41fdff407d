// config/subscription.cpp — the edge subscription file: parse, check, render; the hub's
// pinned-edge list (see subscription.hpp).
#include "config/subscription.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "net/certificate.hpp"
#include "util/text.hpp"

namespace rampart::config {
namespace {

int line_of(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

bool valid_name(std::string_view h) {
    if (h.empty() || h.size() > 253 || h.front() == '.' || h.back() == '.') return false;
    return std::all_of(h.begin(), h.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'; });
}

bool valid_secret(std::string_view s) {
    // base64url of 32 bytes, unpadded: 43 characters.
    return s.size() == 43 && std::all_of(s.begin(), s.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
           });
}

std::string toml_quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::string format_rfc3339(SystemTime t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<SystemTime> parse_rfc3339(std::string_view s) {
    if (s.size() != 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
        (s[19] != 'Z' && s[19] != 'z'))
        return std::nullopt;
    auto num = [&](std::size_t at, std::size_t len, int& out) {
        out = 0;
        for (std::size_t i = at; i < at + len; ++i) {
            if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
            out = out * 10 + (s[i] - '0');
        }
        return true;
    };
    int y, mo, d, h, mi, se;
    if (!num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi) || !num(17, 2, se)) return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    std::time_t tt = timegm(&tm);
    if (tt == static_cast<std::time_t>(-1)) return std::nullopt;
    return std::chrono::system_clock::from_time_t(tt);
}

std::optional<Endpoint> parse_host_port(std::string_view s) {
    Endpoint e;
    std::string_view port;
    if (!s.empty() && s.front() == '[') {
        std::size_t close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
        e.host.assign(s.substr(1, close - 1));
        port = s.substr(close + 2);
        if (!net::IpAddress::parse(e.host)) return std::nullopt;
    } else {
        std::size_t colon = s.rfind(':');
        if (colon == std::string_view::npos || s.find(':') != colon) return std::nullopt;
        e.host.assign(s.substr(0, colon));
        port = s.substr(colon + 1);
        if (!valid_name(e.host)) return std::nullopt;
    }
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return std::nullopt;
    unsigned long p = std::stoul(std::string(port));
    if (p == 0 || p > 65535) return std::nullopt;
    e.port = static_cast<std::uint16_t>(p);
    return e;
}

std::string render_subscription(const Subscription& s) {
    std::string out = "# rampart edge subscription (docs/perimeter.md). Keep it secret: it carries a one-time bootstrap secret.\n";
    out += "[subscription]\n";
    out += "edge_name = " + toml_quote(s.edge_name) + "\n";
    if (!s.hub_name.empty()) out += "hub_name = " + toml_quote(s.hub_name) + "\n";
    out += "sync_address = " + toml_quote(s.sync_address) + "\n";
    out += "smtp_address = " + toml_quote(s.smtp_address) + "\n";
    out += "secret = " + toml_quote(s.secret) + "\n";
    out += "expires = " + toml_quote(format_rfc3339(s.expires)) + "\n";
    if (s.added) out += "added = " + toml_quote(format_rfc3339(*s.added)) + "\n";
    std::string pem = s.certificate;
    if (!pem.empty() && pem.back() != '\n') pem += '\n';
    out += "certificate = \"\"\"\n" + pem + "\"\"\"\n";
    return out;
}

std::variant<Subscription, std::vector<ConfigError>> parse_subscription(std::string_view text, const std::string& source) {
    std::vector<ConfigError> errors;
    auto error = [&](int line, std::string key, std::string problem, std::string fix) {
        errors.push_back({source, line, std::move(key), std::move(problem), std::move(fix)});
    };
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        error(static_cast<int>(e.source().begin.line), "", std::string(e.description()), "not a subscription file written by `rampart edge new-subscription`");
        return errors;
    }
    const toml::table* sub = root["subscription"].as_table();
    if (!sub) {
        error(1, "subscription", "no [subscription] table", "a file written by `rampart edge new-subscription`");
        return errors;
    }
    for (const auto& [k, v] : root)
        if (k.str() != "subscription") error(line_of(v), std::string(k.str()), "unknown section", "only [subscription]");
    Subscription s;
    static constexpr std::string_view kKeys[] = {"edge_name", "hub_name", "sync_address", "smtp_address", "certificate", "secret", "expires", "added"};
    for (const auto& [k, v] : *sub) {
        std::string key = "subscription." + std::string(k.str());
        if (std::find(std::begin(kKeys), std::end(kKeys), k.str()) == std::end(kKeys)) {
            error(line_of(v), key, "unknown key", "edge_name, hub_name, sync_address, smtp_address, certificate, secret, expires, added");
            continue;
        }
        if (!v.is_string()) {
            error(line_of(v), key, "expected a string", "write it in double quotes");
            continue;
        }
        std::string val = *v.value<std::string>();
        int line = line_of(v);
        if (k.str() == "edge_name") {
            if (!valid_name(val)) error(line, key, "\"" + val + "\" is not a host name", "the edge's server.hostname, e.g. \"edge1.example.test\"");
            s.edge_name = util::ascii_lower(val);
        } else if (k.str() == "hub_name") {
            if (!valid_name(val)) error(line, key, "\"" + val + "\" is not a host name", "the hub's server.hostname, e.g. \"hub.example.test\"");
            s.hub_name = util::ascii_lower(val);
        } else if (k.str() == "sync_address" || k.str() == "smtp_address") {
            auto e = parse_host_port(val);
            if (!e) error(line, key, "\"" + val + "\" is not host:port", "\"192.0.2.25:50636\", \"edge1.example.test:25\", \"[2001:db8::25]:25\"");
            else if (auto ip = net::IpAddress::parse(e->host); ip && (e->host == "0.0.0.0" || e->host == "::"))
                error(line, key, "\"" + val + "\" is a wildcard address, which the hub cannot reach", "write the edge's own address (new-subscription --address HOST)");
            (k.str() == "sync_address" ? s.sync_address : s.smtp_address) = val;
        } else if (k.str() == "certificate") {
            auto pc = net::parse_certificate_pem(val);
            if (!pc) error(line, key, "the certificate " + pc.error().message, "the edge's [tls] certificate, PEM");
            else {
                if (!pc->valid_now) error(line, key, "the certificate is expired or not yet valid", "renew the edge's certificate and write a new subscription");
                s.fingerprint = pc->fingerprint;
            }
            s.certificate = val;
        } else if (k.str() == "secret") {
            if (!valid_secret(val)) error(line, key, "not a bootstrap secret", "43 base64url characters, as new-subscription writes it");
            s.secret = val;
        } else {
            auto t = parse_rfc3339(val);
            if (!t) error(line, key, "\"" + val + "\" is not an RFC 3339 UTC time", "\"2026-12-01T22:52:03Z\"");
            else if (k.str() == "expires") s.expires = *t;
            else s.added = *t;
        }
    }
    for (std::string_view required : {"edge_name", "sync_address", "smtp_address", "certificate", "secret", "expires"})
        if (!sub->contains(required))
            error(line_of(*sub), "subscription." + std::string(required), "required key is missing", "write a new file with `rampart edge new-subscription`");
    if (!errors.empty()) {
        std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
        return errors;
    }
    return s;
}

std::vector<PinnedEdge> read_pinned_edges(const std::filesystem::path& edges_dir, std::vector<std::string>& problems) {
    std::vector<PinnedEdge> out;
    std::error_code ec;
    if (!std::filesystem::is_directory(edges_dir, ec)) return out;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(edges_dir, ec))
        if (entry.path().extension() == ".toml") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        auto parsed = parse_subscription(ss.str(), path.string());
        if (auto* errs = std::get_if<std::vector<ConfigError>>(&parsed)) {
            for (const ConfigError& e : *errs) problems.push_back(e.text());
            continue;
        }
        const Subscription& s = std::get<Subscription>(parsed);
        PinnedEdge edge{s.edge_name, s.fingerprint, {}, *parse_host_port(s.smtp_address)};
        for (const std::string& a : {s.smtp_address, s.sync_address}) {
            std::string host = parse_host_port(a)->host;
            if (auto ip = net::IpAddress::parse(host)) {
                edge.addresses.push_back(*ip);
                continue;
            }
            addrinfo hints{};
            hints.ai_socktype = SOCK_STREAM;
            addrinfo* res = nullptr;
            if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0) {
                problems.push_back(path.string() + ": edge " + s.edge_name + ": cannot resolve " + host + ": " + gai_strerror(rc));
                continue;
            }
            for (addrinfo* p = res; p; p = p->ai_next) {
                char buf[NI_MAXHOST];
                if (getnameinfo(p->ai_addr, p->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) == 0)
                    if (auto ip = net::IpAddress::parse(buf)) edge.addresses.push_back(*ip);
            }
            freeaddrinfo(res);
        }
        out.push_back(std::move(edge));
    }
    return out;
}

std::optional<SendConnector> edges_connector(const Config& cfg, const std::vector<PinnedEdge>& edges) {
    if (edges.empty()) return std::nullopt;
    std::filesystem::path data = cfg.resolve(cfg.server.data_dir);
    SendConnector to_edges;
    to_edges.name = "to-edges";
    to_edges.address_spaces = {"*"};
    to_edges.route = Route::Smarthost;
    to_edges.tls = OutboundTls::Required;
    for (const PinnedEdge& e : edges) {
        to_edges.smarthosts.push_back(e.smtp);
        to_edges.tls_fingerprints.push_back(e.fingerprint);
    }
    // The hub proves itself to the edge's from-hub listener with its own [tls] certificate.
    to_edges.certificate = cfg.tls.certificate.empty() ? data / "tls" / "cert.pem" : cfg.resolve(cfg.tls.certificate);
    to_edges.key = cfg.tls.key.empty() ? data / "tls" / "key.pem" : cfg.resolve(cfg.tls.key);
    to_edges.implicit = true;
    return to_edges;
}

}  // namespace rampart::config
