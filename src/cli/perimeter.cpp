// cli/perimeter.cpp — the edge subscription (docs/perimeter.md): `rampart edge
// new-subscription` on the edge, `rampart hub add-edge|remove-edge` on the hub, and what the
// server reads from their files at start and on reload (the hub's pinned edges, the edge's
// pinned hub as an organisation server).
// Trust: a subscription file is another machine's word: config::parse_subscription checks
// it whole before anything is pinned. Secrets: the edge keeps only the SHA-256 of its
// bootstrap secret (data_dir/edge/bootstrap.toml); every file written here is mode 0600.
#include "cli/commands.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iostream>

#include "admin/control.hpp"
#include "config/roles.hpp"
#include "config/subscription.hpp"
#include "net/certificate.hpp"
#include "net/tls.hpp"
#include "util/file_io.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace rampart::cli {
namespace {

bool wildcard(const std::string& host) { return host == "0.0.0.0" || host == "::" || host.empty(); }

std::string base64url(const unsigned char* p, std::size_t n) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
    return out;   // unpadded (RFC 4648 §5)
}

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

// The first certificate block of a PEM chain file: the public part only, never a key.
std::optional<std::string> leaf_pem(const std::string& text) {
    static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----", kEnd = "-----END CERTIFICATE-----";
    std::size_t b = text.find(kBegin);
    std::size_t e = b == std::string::npos ? b : text.find(kEnd, b);
    if (e == std::string::npos) return std::nullopt;
    return text.substr(b, e + kEnd.size() - b) + "\n";
}

// "host:port" for the hub: the configured endpoint, its wildcard host replaced by --address.
std::optional<std::string> reachable(const config::Endpoint& e, const std::string& address, std::string_view what) {
    config::Endpoint out = e;
    if (!address.empty()) out.host = address;
    if (wildcard(out.host)) {
        std::cerr << what << " binds " << e.text() << ", which the hub cannot reach: give the edge's address with --address HOST\n";
        return std::nullopt;
    }
    return out.text();
}

// Tells a running server to re-read data_dir/hub/edges; says so when none runs.
void notify_server(const std::filesystem::path& data) {
    auto response = admin::control_request(admin::control_socket_path(data), "reload-edges");
    if (!response) {
        if (response.error().code == ENOENT || response.error().code == ECONNREFUSED)
            std::cerr << "no rampart server is running; it reads the edges when it starts\n";
        else
            std::cerr << "the running server was not told (" << response.error().message << "); send it SIGHUP\n";
        return;
    }
    if (response->rfind("ok", 0) != 0) std::cerr << *response;
}

}  // namespace

int edge_new_subscription(const std::string& config_path, const std::string& out_path, const std::string& address,
                          const std::string& hub) {
    auto cfg = load(config_path);
    if (!cfg) return kConfigError;
    if (cfg->server.role != config::Role::Edge) {
        std::cerr << cfg->source << ": server.role is \"" << config::role_name(cfg->server.role)
                  << "\": new-subscription runs on an edge (role = \"edge\")\n";
        return kConfigError;
    }
    const config::Listener* from_hub = nullptr;
    for (const config::Listener& l : cfg->listeners)
        if (l.preset == config::ListenerKind::FromHub && !l.bind.empty()) from_hub = &l;
    if (!from_hub) {
        std::cerr << cfg->source << ": no listener with preset \"from-hub\": the hub would have nowhere to send outbound mail"
                  << " (add [[listeners]] name = \"from-hub\")\n";
        return kConfigError;
    }
    auto sync = reachable(cfg->edge.sync_bind, address, "edge.sync_bind");
    auto smtp = reachable(from_hub->bind.front(), address, "listener \"" + from_hub->name + "\"");
    if (!sync || !smtp) return kConfigError;

    // The edge's certificate is the server's [tls] certificate: the self-signed one in
    // data_dir/tls is made now if none is configured, so that the hub pins what the
    // listeners will present.
    std::filesystem::path data = cfg->resolve(cfg->server.data_dir);
    std::filesystem::path cert_path = cfg->tls.certificate.empty() ? data / "tls" / "cert.pem" : cfg->resolve(cfg->tls.certificate);
    if (cfg->tls.certificate.empty()) {
        std::filesystem::path key_path = data / "tls" / "key.pem";
        std::error_code ec;
        std::filesystem::create_directories(data / "tls", ec);
        if (!std::filesystem::exists(cert_path) || !std::filesystem::exists(key_path))
            if (auto r = net::write_self_signed(cert_path, key_path, cfg->server.hostname); !r) {
                std::cerr << "tls: " << r.error().message << "\n";
                return 1;
            }
    }
    auto text = util::read_file(cert_path);
    if (!text) {
        std::cerr << "tls.certificate: " << text.error().message << "\n";
        return 1;
    }
    auto pem = leaf_pem(*text);
    if (!pem || !net::parse_certificate_pem(*pem)) {
        std::cerr << cert_path.string() << ": no PEM certificate\n";
        return 1;
    }

    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) {   // the OS CSPRNG, through OpenSSL's DRBG
        std::cerr << "no random bytes from the system\n";
        return 1;
    }
    std::string secret = base64url(raw, sizeof raw);
    auto now = std::chrono::system_clock::now();
    config::Subscription sub;
    sub.edge_name = cfg->server.hostname;
    sub.hub_name = util::ascii_lower(hub);
    sub.sync_address = *sync;
    sub.smtp_address = *smtp;
    sub.certificate = *pem;
    sub.secret = secret;
    sub.expires = std::chrono::time_point_cast<std::chrono::seconds>(now + cfg->edge.bootstrap_lifetime);

    std::error_code ec;
    std::filesystem::create_directories(data / "edge", ec);
    std::filesystem::permissions(data / "edge", std::filesystem::perms::owner_all, ec);
    std::string bootstrap = "# the edge's one-time bootstrap secret, as a hash (docs/perimeter.md)\nsecret_sha256 = \"" +
                            sha256_hex(std::string(reinterpret_cast<const char*>(raw), sizeof raw)) + "\"\nexpires = \"" +
                            config::format_rfc3339(sub.expires) + "\"\n" +
                            (sub.hub_name.empty() ? "" : "expected_hub = \"" + sub.hub_name + "\"\n");
    if (auto r = util::write_file_atomic(config::edge_bootstrap_file(data), bootstrap, 0600); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
    }
    std::string file = config::render_subscription(sub);
    if (out_path.empty()) {
        std::cout << file;
    } else if (auto r = util::write_file_atomic(out_path, file, 0600); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
    } else {
        std::cerr << "wrote " << out_path << " for edge " << sub.edge_name << " (valid until " << config::format_rfc3339(sub.expires)
                  << "); copy it to the hub and run: rampart hub add-edge " << out_path << "\n";
    }
    return 0;
}

int hub_add_edge(const std::string& config_path, const std::string& file) {
    auto cfg = load(config_path);
    if (!cfg) return kConfigError;
    if (cfg->server.role != config::Role::Hub) {
        std::cerr << cfg->source << ": server.role is \"" << config::role_name(cfg->server.role)
                  << "\": add-edge runs on a hub (role = \"hub\")\n";
        return kConfigError;
    }
    auto text = util::read_file(file);
    if (!text) {
        std::cerr << file << ": " << text.error().message << "\n";
        return kConfigError;
    }
    auto parsed = config::parse_subscription(*text, file);
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&parsed)) {
        for (const config::ConfigError& e : *errors) std::cerr << e.text() << "\n";
        return kConfigError;
    }
    config::Subscription sub = std::get<config::Subscription>(parsed);
    if (!sub.hub_name.empty() && sub.hub_name != util::ascii_lower(cfg->server.hostname)) {
        std::cerr << file << ": subscription.hub_name: this subscription is for hub \"" << sub.hub_name << "\", and this hub is \""
                  << cfg->server.hostname << "\" (server.hostname): import it on that hub, or write a new one on the edge with --hub "
                  << cfg->server.hostname << "\n";
        return kConfigError;
    }
    auto now = std::chrono::system_clock::now();
    if (sub.expires <= now) {
        std::cerr << file << ": subscription.expires: the subscription expired at " << config::format_rfc3339(sub.expires)
                  << " (run `rampart edge new-subscription` on the edge again)\n";
        return kConfigError;
    }
    std::filesystem::path data = cfg->resolve(cfg->server.data_dir);
    std::filesystem::path dir = config::hub_edges_dir(data);
    std::filesystem::path target = dir / (sub.edge_name + ".toml");
    if (auto old = util::read_file(target)) {
        auto prev = config::parse_subscription(*old, target.string());
        if (auto* p = std::get_if<config::Subscription>(&prev)) {
            if (p->fingerprint != sub.fingerprint) {
                std::cerr << file << ": edge " << sub.edge_name << " is already subscribed with another certificate (" << p->fingerprint
                          << "; this file has " << sub.fingerprint << "): run `rampart hub remove-edge " << sub.edge_name
                          << "` first if the edge was rebuilt\n";
                return kConfigError;
            }
        }
    }
    // A bootstrap secret is good for one import, also after remove-edge: the hub keeps the
    // SHA-256 of every secret it imported (data_dir/hub/used-secrets).
    std::filesystem::path used = data / "hub" / "used-secrets";
    std::string used_text = util::read_file(used).ok() ? *util::read_file(used) : std::string();
    std::string secret_hash = sha256_hex(sub.secret);
    if (used_text.find(secret_hash + "\n") != std::string::npos) {
        std::cerr << file << ": subscription.secret: this bootstrap secret was imported already; run `rampart edge new-subscription` on the edge for a new one\n";
        return kConfigError;
    }
    sub.added = std::chrono::time_point_cast<std::chrono::seconds>(now);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::filesystem::permissions(data / "hub", std::filesystem::perms::owner_all, ec);
    if (auto r = util::write_file_atomic(used, used_text + secret_hash + "\n", 0600); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
    }
    if (auto r = util::write_file_atomic(target, config::render_subscription(sub), 0600); !r) {
        std::cerr << r.error().message << "\n";
        return 1;
    }
    std::cout << "edge " << sub.edge_name << " subscribed: certificate " << sub.fingerprint << " pinned, mail to " << sub.smtp_address
              << ", replication to " << sub.sync_address << "\n";
    notify_server(data);
    return 0;
}

int hub_remove_edge(const std::string& config_path, const std::string& name) {
    auto cfg = load(config_path);
    if (!cfg) return kConfigError;
    std::filesystem::path data = cfg->resolve(cfg->server.data_dir);
    std::filesystem::path target = config::hub_edges_dir(data) / (name + ".toml");
    std::error_code ec;
    if (name.empty() || name.find('/') != std::string::npos || !std::filesystem::remove(target, ec)) {
        std::cerr << "no edge \"" << name << "\" is subscribed (" << target.string() << ")\n";
        return 1;
    }
    std::cout << "edge " << name << " removed: its certificate is no longer admitted\n";
    notify_server(data);
    return 0;
}

std::vector<config::PinnedEdge> load_pinned_edges(const config::Config& cfg) {
    std::vector<std::string> problems;
    std::filesystem::path dir = config::hub_edges_dir(cfg.resolve(cfg.server.data_dir));
    std::vector<config::PinnedEdge> edges = config::read_pinned_edges(dir, problems);
    for (const std::string& p : problems) log::error("perimeter.edge.unreadable", {{"problem", p}, {"action", "edge left out"}});
    std::string names;
    for (const config::PinnedEdge& e : edges) names += (names.empty() ? "" : ",") + e.name;
    log::info("perimeter.edges.loaded", {{"dir", dir.string()}, {"edges", edges.size()}, {"names", names.empty() ? "-" : names}});
    return edges;
}

std::vector<std::string> perimeter_warnings(const config::Config& cfg) {
    std::vector<std::string> out;
    if (cfg.server.role != config::Role::Hub) return out;
    std::vector<std::string> problems;
    auto edges = config::read_pinned_edges(config::hub_edges_dir(cfg.resolve(cfg.server.data_dir)), problems);
    for (const std::string& p : problems) out.push_back(p);
    if (edges.empty()) return out;
    for (const config::SendConnector& c : cfg.send_connectors)
        if (!c.implicit && std::find(c.address_spaces.begin(), c.address_spaces.end(), "*") != c.address_spaces.end())
            out.push_back("send_connectors: \"" + c.name + "\" serves \"*\", so outbound mail does not go through the " +
                          std::to_string(edges.size()) + " subscribed edge(s); remove it to send through them (docs/perimeter.md)");
    return out;
}

void add_pinned_hub(directory::Directory& dir, const config::Config& cfg) {
    if (cfg.server.role != config::Role::Edge) return;
    std::filesystem::path pin = config::edge_hub_pin(cfg.resolve(cfg.server.data_dir));
    std::error_code ec;
    if (!std::filesystem::exists(pin, ec)) return;
    auto cert = net::read_certificate(pin);
    if (!cert) {
        log::error("perimeter.hub.unreadable", {{"file", pin.string()}, {"error", cert.error().message}});
        return;
    }
    if (dir.server_by_fingerprint(cert->fingerprint)) return;
    dir.servers.push_back(directory::Server{"hub", {}, cert->fingerprint, {}});
}

}  // namespace rampart::cli
