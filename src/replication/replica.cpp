// replication/replica.cpp — the edge's replica files and the pure apply (see replica.hpp).
#include "replication/replica.hpp"

#include <sys/stat.h>

#include "config/subscription.hpp"
#include "directory/mailbox.hpp"
#include "net/certificate.hpp"
#include "replication/signing.hpp"
#include "util/file_io.hpp"

namespace rampart::replication {

std::vector<config::Domain> Replica::domains() const {
    std::vector<config::Domain> out;
    for (const std::string& e : config.entries) {
        if (e.rfind("domain ", 0) != 0) continue;
        std::string rest = e.substr(7);
        std::size_t sp = rest.find(' ');
        if (sp == std::string::npos) continue;
        std::string type = rest.substr(sp + 1);
        config::Domain d{rest.substr(0, sp), config::DomainType::Authoritative};
        if (type == "internal-relay") d.type = config::DomainType::InternalRelay;
        else if (type == "external-relay") d.type = config::DomainType::ExternalRelay;
        out.push_back(std::move(d));
    }
    return out;
}

std::optional<std::string> Replica::route(std::string_view domain) const {
    std::string prefix = "route " + std::string(domain) + " ";
    for (const std::string& e : config.entries)
        if (e.rfind(prefix, 0) == 0) return e.substr(prefix.size());
    return std::nullopt;
}

std::string Replica::org_key() const {
    auto it = recipients.entries.lower_bound("orgkey ");
    if (it == recipients.entries.end() || it->rfind("orgkey ", 0) != 0) return "";
    std::string raw;
    if (!from_hex(it->substr(7), raw) || raw.size() != 32) return "";
    return raw;
}

bool Replica::knows(std::string_view address) const {
    std::string key = org_key();
    if (key.empty()) return false;
    return recipients.entries.count("rcpt " + recipient_hash(key, address)) > 0;
}

bool Replica::lists_safe_sender(std::string_view recipient, std::string_view sender_address,
                                std::string_view sender_domain) const {
    std::string key = org_key();
    if (key.empty()) return false;
    std::string prefix = "safe " + recipient_hash(key, recipient) + " ";
    return recipients.entries.count(prefix + safe_sender_hash(key, sender_address)) > 0 ||
           recipients.entries.count(prefix + safe_sender_hash(key, sender_domain)) > 0;
}

void Replica::derive(const config::Config& edge, const std::filesystem::path& data_dir) {
    // How the edge proves itself to the hub, and how it knows the hub (perimeter: the
    // from-edge listener checks the edge's certificate after STARTTLS).
    std::filesystem::path cert, key;
    std::string hub_fingerprint;
    if (!data_dir.empty()) {
        cert = edge.tls.certificate.empty() ? data_dir / "tls" / "cert.pem" : edge.resolve(edge.tls.certificate);
        key = edge.tls.key.empty() ? data_dir / "tls" / "key.pem" : edge.resolve(edge.tls.key);
        if (auto pin = net::read_certificate(config::edge_hub_pin(data_dir))) hub_fingerprint = pin->fingerprint;
    }
    auto domains = std::make_shared<std::vector<config::Domain>>();
    auto routes = std::make_shared<std::vector<config::SendConnector>>();
    std::vector<config::Domain> hub = this->domains();
    for (const config::Domain& d : edge.domains) {
        bool replicated = false;
        for (const config::Domain& h : hub) replicated = replicated || h.name == d.name;
        if (!replicated) domains->push_back(d);
    }
    for (config::Domain d : hub) {
        if (d.type == config::DomainType::Authoritative) d.type = config::DomainType::InternalRelay;
        if (auto r = route(d.name)) {
            std::size_t colon = r->rfind(':');
            config::SendConnector c;
            c.name = "hub";
            c.address_spaces = {d.name};
            c.route = config::Route::Smarthost;
            if (!cert.empty()) {
                c.tls = config::OutboundTls::Required;
                c.certificate = cert;
                c.key = key;
            }
            if (!hub_fingerprint.empty()) c.tls_fingerprints = {hub_fingerprint};
            std::string host = r->substr(0, colon);
            if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
            try {
                c.smarthosts = {config::Endpoint{host, static_cast<std::uint16_t>(std::stoul(r->substr(colon + 1)))}};
            } catch (const std::exception&) {
                continue;   // a route the hub wrote wrongly: the edge's own connectors decide
            }
            routes->push_back(std::move(c));
        }
        domains->push_back(std::move(d));
    }
    edge_domains = std::move(domains);
    hub_routes = std::move(routes);
}

Result<KindState> apply(const KindState& current, const Message& m) {
    std::string kind(kind_name(m.kind));
    if (!current.hub.empty() && current.hub != m.hub)
        return Error{0, kind + " from hub \"" + m.hub + "\", but the replica comes from \"" + current.hub + "\""};
    if (m.serial <= current.serial)
        return Error{0, kind + " serial " + std::to_string(m.serial) + " is not newer than ours (" + std::to_string(current.serial) +
                            "): a replay or a stale push"};
    KindState next;
    next.serial = m.serial;
    next.hub = m.hub;
    if (m.snapshot()) {
        next.entries.insert(m.added.begin(), m.added.end());
        return next;
    }
    if (m.base != current.serial)
        return Error{0, kind + " delta " + std::to_string(m.base) + "→" + std::to_string(m.serial) + " does not start at our serial " +
                            std::to_string(current.serial) + " (a gap)"};
    next.entries = current.entries;
    for (const std::string& e : m.removed)
        if (next.entries.erase(e) == 0) return Error{0, kind + " delta removes an entry we do not hold"};
    next.entries.insert(m.added.begin(), m.added.end());
    return next;
}

std::filesystem::path replica_dir(const std::filesystem::path& data_dir) { return data_dir / "edge" / "replica"; }

std::string kind_file_text(const KindState& state) {
    std::string out = "serial " + std::to_string(state.serial) + "\nhub " + state.hub + "\n";
    for (const std::string& e : state.entries) out += e + "\n";
    return out;
}

namespace {

Result<KindState> load_kind(const std::filesystem::path& file) {
    KindState s;
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return s;
    auto text = util::read_file(file);
    if (!text) return text.error();
    std::string_view rest = *text;
    int line = 0;
    auto bad = [&](std::string what) { return Error{0, file.string() + ":" + std::to_string(line) + ": " + what}; };
    while (!rest.empty()) {
        ++line;
        std::size_t nl = rest.find('\n');
        if (nl == std::string_view::npos) return bad("truncated (no end of line)");
        std::string_view l = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
        if (line == 1) {
            if (l.rfind("serial ", 0) != 0) return bad("expected \"serial N\"");
            try {
                s.serial = std::stoull(std::string(l.substr(7)));
            } catch (const std::exception&) {
                return bad("expected \"serial N\"");
            }
        } else if (line == 2) {
            if (l.rfind("hub ", 0) != 0) return bad("expected \"hub NAME\"");
            s.hub = std::string(l.substr(4));
        } else {
            if (!valid_entry(l)) return bad("not a replica entry");
            s.entries.emplace(l);
        }
    }
    if (line < 2) return bad("truncated (no serial and hub)");
    return s;
}

}  // namespace

Result<Replica> load_replica(const std::filesystem::path& dir) {
    Replica r;
    for (Kind k : {Kind::Config, Kind::Recipients}) {
        auto s = load_kind(dir / (std::string(kind_name(k)) + ".set"));
        if (!s) return s.error();
        r.of(k) = std::move(*s);
    }
    return r;
}

Result<Ok> save_kind(const std::filesystem::path& dir, Kind kind, const KindState& state) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error{ec.value(), dir.string() + ": " + ec.message()};
    ::chmod(dir.c_str(), 0700);
    return util::write_file_atomic(dir / (std::string(kind_name(kind)) + ".set"), kind_file_text(state), 0600);
}

}  // namespace rampart::replication
