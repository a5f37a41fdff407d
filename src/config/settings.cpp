// config/settings.cpp — every configuration key, declared once: TOML name, type, default
// as documented, one line of documentation, and how it is applied. The loader walks these
// tables; `rampart settings` prints them (docs/configuration.md).
#include "config/settings.hpp"

#include <algorithm>
#include <span>

#include "config/roles.hpp"
#include "config/table.hpp"
#include "config/units.hpp"

namespace rampart::config {
namespace {

int line_of(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

template <class T>
struct Field {
    std::string_view key;
    std::string_view type;
    std::string_view default_text;
    std::string_view doc;
    void (*apply)(T&, const toml::node&, Ctx&, const std::string& path);
};

// ---- value readers: each reports its own type error and returns nullopt ----

std::optional<std::string> read_string(const toml::node& n, Ctx& ctx, const std::string& path) {
    if (auto v = n.value<std::string>(); v && n.is_string()) return *v;
    ctx.error(line_of(n), path, "expected a string", "write it in double quotes");
    return std::nullopt;
}

std::optional<bool> read_bool(const toml::node& n, Ctx& ctx, const std::string& path) {
    if (n.is_boolean()) return *n.value<bool>();
    ctx.error(line_of(n), path, "expected true or false", "true | false");
    return std::nullopt;
}

std::optional<std::uint64_t> read_count(const toml::node& n, Ctx& ctx, const std::string& path,
                                        std::uint64_t min, std::uint64_t max) {
    if (n.is_integer()) {
        std::int64_t v = *n.value<std::int64_t>();
        if (v >= 0 && static_cast<std::uint64_t>(v) >= min && static_cast<std::uint64_t>(v) <= max)
            return static_cast<std::uint64_t>(v);
    }
    ctx.error(line_of(n), path, "expected a whole number",
              "from " + std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
}

std::optional<std::uint64_t> read_size(const toml::node& n, Ctx& ctx, const std::string& path) {
    if (n.is_integer() && *n.value<std::int64_t>() >= 0) return static_cast<std::uint64_t>(*n.value<std::int64_t>());
    if (n.is_string())
        if (auto v = parse_size(*n.value<std::string>())) return v;
    ctx.error(line_of(n), path, "expected a size", "a number of bytes or a string with a unit: \"35MiB\", \"512KiB\", \"10MB\"");
    return std::nullopt;
}

std::optional<milliseconds> read_duration(const toml::node& n, Ctx& ctx, const std::string& path) {
    if (n.is_string())
        if (auto v = parse_duration(*n.value<std::string>()); v && v->count() > 0) return v;
    ctx.error(line_of(n), path, "expected a duration", "a string with a unit: \"30s\", \"5m\", \"2h\", \"1d\"");
    return std::nullopt;
}

std::optional<double> read_factor(const toml::node& n, Ctx& ctx, const std::string& path) {
    std::optional<double> v;
    if (n.is_floating_point()) v = *n.value<double>();
    else if (n.is_integer()) v = static_cast<double>(*n.value<std::int64_t>());
    if (v && *v >= 1.0 && *v <= 10.0) return v;
    ctx.error(line_of(n), path, "expected a number from 1 to 10", "e.g. 2.0 (double each delay) or 1.0 (constant delay)");
    return std::nullopt;
}

std::optional<std::vector<std::string>> read_strings(const toml::node& n, Ctx& ctx, const std::string& path) {
    const toml::array* arr = n.as_array();
    if (!arr) {
        ctx.error(line_of(n), path, "expected a list of strings", "[\"a\", \"b\"]");
        return std::nullopt;
    }
    std::vector<std::string> out;
    for (const toml::node& item : *arr) {
        if (!item.is_string()) {
            ctx.error(line_of(item), path, "expected a list of strings", "[\"a\", \"b\"]");
            return std::nullopt;
        }
        out.push_back(*item.value<std::string>());
    }
    return out;
}

template <class E, std::size_t N>
std::optional<E> read_enum(const toml::node& n, Ctx& ctx, const std::string& path,
                           const std::array<std::pair<std::string_view, E>, N>& names) {
    std::string allowed;
    for (const auto& [name, value] : names) allowed += (allowed.empty() ? "" : " | ") + std::string(name);
    if (n.is_string()) {
        std::string v = *n.value<std::string>();
        for (const auto& [name, value] : names)
            if (v == name) return value;
        ctx.error(line_of(n), path, "unknown value \"" + v + "\"", allowed);
        return std::nullopt;
    }
    ctx.error(line_of(n), path, "expected a string", allowed);
    return std::nullopt;
}

std::optional<std::vector<net::Cidr>> read_cidrs(const toml::node& n, Ctx& ctx, const std::string& path) {
    auto items = read_strings(n, ctx, path);
    if (!items) return std::nullopt;
    std::vector<net::Cidr> out;
    bool ok = true;
    for (const std::string& s : *items) {
        if (auto c = net::Cidr::parse(s)) out.push_back(*c);
        else {
            ctx.error(line_of(n), path, "\"" + s + "\" is not an address or prefix", "\"192.0.2.0/24\", \"2001:db8::/32\", \"192.0.2.10\"");
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    return out;
}

// "127.0.0.1:2525", "[::1]:2525"; names allowed only where `allow_names` (smart hosts).
std::optional<Endpoint> parse_endpoint(std::string_view s, bool allow_names, std::uint16_t default_port) {
    Endpoint e;
    std::string_view port;
    if (!s.empty() && s.front() == '[') {
        std::size_t close = s.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        e.host.assign(s.substr(1, close - 1));
        std::string_view rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port = rest.substr(1);
        }
        if (!net::IpAddress::parse(e.host) || !net::IpAddress::parse(e.host)->v6) return std::nullopt;
    } else {
        std::size_t colon = s.rfind(':');
        if (colon != std::string_view::npos && s.find(':') != colon) return std::nullopt;  // bare IPv6
        e.host.assign(s.substr(0, colon));
        if (colon != std::string_view::npos) port = s.substr(colon + 1);
        if (e.host.empty()) return std::nullopt;
        if (!net::IpAddress::parse(e.host)) {
            if (!allow_names) return std::nullopt;
            for (char c : e.host)
                if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return std::nullopt;
        }
    }
    if (port.empty()) {
        if (default_port == 0) return std::nullopt;
        e.port = default_port;
        return e;
    }
    unsigned p = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return std::nullopt;
        p = p * 10 + static_cast<unsigned>(c - '0');
        if (p > 65535) return std::nullopt;
    }
    if (p == 0) return std::nullopt;
    e.port = static_cast<std::uint16_t>(p);
    return e;
}

std::optional<std::vector<Endpoint>> read_endpoints(const toml::node& n, Ctx& ctx, const std::string& path,
                                                    bool allow_names, std::uint16_t default_port) {
    auto items = read_strings(n, ctx, path);
    if (!items) return std::nullopt;
    std::vector<Endpoint> out;
    bool ok = true;
    for (const std::string& s : *items) {
        if (auto e = parse_endpoint(s, allow_names, default_port)) out.push_back(*e);
        else {
            ctx.error(line_of(n), path, "\"" + s + "\" is not a valid address:port",
                      allow_names ? "\"relay.example.test:25\", \"192.0.2.1:587\", \"[2001:db8::1]:25\""
                                  : "\"127.0.0.1:2525\", \"[::1]:2525\", \"0.0.0.0:25\"");
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    return out;
}

bool valid_domain_name(std::string_view d) {
    if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.' || d.find("..") != std::string_view::npos)
        return false;
    for (char c : d)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
    return true;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// ---- enum spellings (the config's words) ----
constexpr std::array<std::pair<std::string_view, DomainType>, 3> kDomainTypes{{
    {"authoritative", DomainType::Authoritative}, {"internal-relay", DomainType::InternalRelay},
    {"external-relay", DomainType::ExternalRelay}}};
constexpr std::array<std::pair<std::string_view, TlsMode>, 3> kTlsModes{{
    {"none", TlsMode::None}, {"starttls", TlsMode::StartTls}, {"implicit", TlsMode::Implicit}}};
constexpr std::array<std::pair<std::string_view, RelayMode>, 2> kRelayModes{{
    {"only-list", RelayMode::OnlyList}, {"all-except-list", RelayMode::AllExceptList}}};
constexpr std::array<std::pair<std::string_view, Route>, 2> kRoutes{{
    {"mx", Route::Mx}, {"smarthost", Route::Smarthost}}};
constexpr std::array<std::pair<std::string_view, OutboundTls>, 4> kOutboundTls{{
    {"none", OutboundTls::None}, {"opportunistic", OutboundTls::Opportunistic},
    {"required", OutboundTls::Required}, {"verify", OutboundTls::Verify}}};
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kLogLevels{{
    {"debug", "debug"}, {"info", "info"}, {"warning", "warning"}, {"error", "error"}}};
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kTlsVersions{{
    {"TLSv1.2", "TLSv1.2"}, {"TLSv1.3", "TLSv1.3"}}};
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kBackends{{
    {"file", "file"}, {"ldap", "ldap"}}};

bool valid_grant(std::string_view g) {
    if (g == "authenticated") return true;
    for (std::string_view prefix : {"user:", "group:"})
        if (g.size() > prefix.size() && g.substr(0, prefix.size()) == prefix) return true;
    return false;
}

std::optional<std::vector<std::string>> read_grants(const toml::node& n, Ctx& ctx, const std::string& path) {
    auto items = read_strings(n, ctx, path);
    if (!items) return std::nullopt;
    for (const std::string& g : *items)
        if (!valid_grant(g)) {
            ctx.error(line_of(n), path, "\"" + g + "\" is not a grant", "\"user:NAME\", \"group:NAME\" or \"authenticated\"");
            return std::nullopt;
        }
    return items;
}

bool valid_address_space(std::string_view s) {
    if (s == "*") return true;
    if (s.size() > 2 && s.substr(0, 2) == "*.") s.remove_prefix(2);
    return valid_domain_name(s);
}

// Shorthands for the tables below.
#define SET(expr) [](auto& t, const toml::node& n, Ctx& ctx, const std::string& path) { (void)t; (void)ctx; (void)path; expr; }

// ---- the tables ----

const Field<ServerSettings> kServer[] = {
    {"role", "string", "\"all-in-one\"", "Server role whose presets fill every listener key left out: gateway | mailbox | frontend | all-in-one | edge | hub.",
     SET(if (auto v = read_enum(n, ctx, path, kRoles)) t.role = *v)},
    {"hostname", "string", "\"localhost\"", "Name used in the greeting, EHLO reply and Received headers.",
     SET(if (auto v = read_string(n, ctx, path)) t.hostname = *v)},
    {"data_dir", "path", "\"var\"", "Spool, mailboxes and state; relative to the configuration file.",
     SET(if (auto v = read_string(n, ctx, path)) t.data_dir = *v)},
    {"threads", "count", "0", "Worker threads for network I/O; 0 means one per CPU.",
     SET(if (auto v = read_count(n, ctx, path, 0, 256)) t.threads = static_cast<std::uint32_t>(*v))},
    {"log_file", "path", "\"\"", "Append log lines to this file; empty means standard error.",
     SET(if (auto v = read_string(n, ctx, path)) t.log_file = *v)},
    {"log_level", "string", "\"info\"", "Least severe level written: debug | info | warning | error.",
     SET(if (auto v = read_enum(n, ctx, path, kLogLevels)) t.log_level = std::string(*v))},
};

const Field<Domain> kDomain[] = {
    {"name", "string", "(required)", "An accepted domain, e.g. \"example.test\".",
     SET(if (auto v = read_string(n, ctx, path)) {
         std::string d = lower(*v);
         if (valid_domain_name(d)) t.name = d;
         else ctx.error(line_of(n), path, "\"" + *v + "\" is not a domain name", "letters, digits, hyphens and dots; no trailing dot");
     })},
    {"type", "string", "\"authoritative\"", "authoritative (mailboxes here) | internal-relay | external-relay.",
     SET(if (auto v = read_enum(n, ctx, path, kDomainTypes)) t.type = *v)},
};

const Field<DirectorySettings> kDirectory[] = {
    {"backend", "string", "\"file\"", "Where users, groups and servers come from: file | ldap.",
     SET(if (auto v = read_enum(n, ctx, path, kBackends)) t.backend = std::string(*v))},
    {"file", "path", "\"directory.toml\"", "Directory file for the file backend; relative to the configuration file.",
     SET(if (auto v = read_string(n, ctx, path)) t.file = *v)},
};

const Field<TlsSettings> kTls[] = {
    {"certificate", "path", "\"\"", "PEM certificate chain. Empty: a self-signed certificate is created in data_dir/tls on first start.",
     SET(if (auto v = read_string(n, ctx, path)) t.certificate = *v)},
    {"key", "path", "\"\"", "PEM private key matching the certificate.",
     SET(if (auto v = read_string(n, ctx, path)) t.key = *v)},
    {"min_version", "string", "\"TLSv1.2\"", "Oldest TLS version accepted: TLSv1.2 | TLSv1.3.",
     SET(if (auto v = read_enum(n, ctx, path, kTlsVersions)) t.min_version = std::string(*v))},
};

const Field<AuthSettings> kAuth[] = {
    {"anonymous", "bool", "role preset", "Clients may send without authenticating (submit only, unless the relay rules allow more).",
     SET(if (auto v = read_bool(n, ctx, path)) t.anonymous = *v)},
    {"basic", "bool", "false", "SASL PLAIN and LOGIN with directory passwords.",
     SET(if (auto v = read_bool(n, ctx, path)) t.basic = *v)},
    {"basic_requires_tls", "bool", "true", "Offer basic authentication only after TLS is up.",
     SET(if (auto v = read_bool(n, ctx, path)) t.basic_requires_tls = *v)},
    {"integrated", "bool", "role preset", "SASL GSSAPI (Kerberos).",
     SET(if (auto v = read_bool(n, ctx, path)) t.integrated = *v)},
    {"server", "bool", "role preset", "TLS client certificates of organisation servers (SASL EXTERNAL).",
     SET(if (auto v = read_bool(n, ctx, path)) t.server = *v)},
};

const Field<RelaySettings> kRelay[] = {
    {"mode", "string", "\"only-list\"", "only-list: only listed addresses may relay; all-except-list: all but the listed.",
     SET(if (auto v = read_enum(n, ctx, path, kRelayModes)) t.mode = *v)},
    {"list", "list of prefixes", "[]", "Client addresses or prefixes for the relay rule, e.g. [\"192.0.2.10/32\"].",
     SET(if (auto v = read_cidrs(n, ctx, path)) t.list = *v)},
    {"allow_authenticated", "bool", "false", "Any authenticated user may relay. Off in every role: a stolen login could send spam.",
     SET(if (auto v = read_bool(n, ctx, path)) t.allow_authenticated = *v)},
};

const Field<Permissions> kPermissions[] = {
    {"submit", "list of grants", "[]", "Users who may submit after authenticating: \"user:NAME\", \"group:NAME\", \"authenticated\". Empty: servers only.",
     SET(if (auto v = read_grants(n, ctx, path)) t.submit = *v)},
    {"relay", "list of grants", "[]", "Users who may relay after authenticating (same forms as submit).",
     SET(if (auto v = read_grants(n, ctx, path)) t.relay = *v)},
};

const Field<ListenerLimits> kLimits[] = {
    {"max_message_size", "size", "\"35MiB\"", "Largest message accepted; announced with SIZE (RFC 1870).",
     SET(if (auto v = read_size(n, ctx, path)) t.max_message_size = *v)},
    {"max_recipients", "count", "100", "Recipients per message; more get 452 4.5.3.",
     SET(if (auto v = read_count(n, ctx, path, 1, 100000)) t.max_recipients = static_cast<std::uint32_t>(*v))},
    {"max_connections", "count", "1000", "Simultaneous connections to this listener; more get 421 4.7.0.",
     SET(if (auto v = read_count(n, ctx, path, 1, 1000000)) t.max_connections = static_cast<std::uint32_t>(*v))},
    {"max_connections_per_source", "count", "50", "Simultaneous connections from one client address.",
     SET(if (auto v = read_count(n, ctx, path, 1, 1000000)) t.max_connections_per_source = static_cast<std::uint32_t>(*v))},
    {"max_errors", "count", "10", "Protocol errors before the session is closed with 421 4.7.0.",
     SET(if (auto v = read_count(n, ctx, path, 1, 1000)) t.max_errors = static_cast<std::uint32_t>(*v))},
    {"max_received_headers", "count", "50", "Received headers (hops) above which a message is refused as a loop: 554 5.4.6.",
     SET(if (auto v = read_count(n, ctx, path, 1, 1000)) t.max_received_headers = static_cast<std::uint32_t>(*v))},
    {"max_line_length", "count", "998", "Longest message line without CRLF (RFC 5321 §4.5.3.1.6); 0 means no limit.",
     SET(if (auto v = read_count(n, ctx, path, 0, 1u << 24)) t.max_line_length = static_cast<std::uint32_t>(*v))},
    {"max_command_length", "count", "2048", "Longest command line including ESMTP parameters (RFC 5321 §4.5.3.1.4 plus extensions).",
     SET(if (auto v = read_count(n, ctx, path, 512, 65536)) t.max_command_length = static_cast<std::uint32_t>(*v))},
    {"command_timeout", "duration", "\"5m\"", "Wait for the next command before 421 4.4.2 (RFC 5321 §4.5.3.2.7).",
     SET(if (auto v = read_duration(n, ctx, path)) t.command_timeout = *v)},
    {"data_timeout", "duration", "\"10m\"", "Longest time for receiving one message's data (DATA or all BDAT chunks).",
     SET(if (auto v = read_duration(n, ctx, path)) t.data_timeout = *v)},
};

template <class T, std::size_t N>
void apply_table(T& target, const Field<T> (&fields)[N], const toml::node& node, Ctx& ctx, const std::string& prefix);

const Field<Listener> kListener[] = {
    {"name", "string", "(required)", "Listener name, used in logs, `explain` and `check`.",
     SET(if (auto v = read_string(n, ctx, path)) t.name = *v)},
    {"bind", "list of address:port", "(required)", "Addresses and ports to listen on: [\"127.0.0.1:2525\", \"[::1]:2525\"].",
     SET(if (auto v = read_endpoints(n, ctx, path, false, 0)) t.bind = *v)},
    {"tls", "string", "\"starttls\"", "none | starttls (offer STARTTLS, RFC 3207) | implicit (TLS from the first byte, RFC 8314).",
     SET(if (auto v = read_enum(n, ctx, path, kTlsModes)) t.tls = *v)},
    {"remote_ranges", "list of prefixes", "[\"0.0.0.0/0\", \"::/0\"]", "Client addresses allowed to connect; others get 554 5.7.1 at the greeting.",
     SET(if (auto v = read_cidrs(n, ctx, path)) t.remote_ranges = *v)},
    {"auth", "table", "role preset", "Authentication methods: see [listeners.auth].",
     SET(apply_table(t.auth, kAuth, n, ctx, path))},
    {"relay", "table", "role preset", "Relay restrictions: see [listeners.relay].",
     SET(apply_table(t.relay, kRelay, n, ctx, path))},
    {"permissions", "table", "role preset", "Submit and relay grants: see [listeners.permissions].",
     SET(apply_table(t.permissions, kPermissions, n, ctx, path))},
    {"limits", "table", "see [listeners.limits]", "Sizes, counts and timeouts: see [listeners.limits].",
     SET(apply_table(t.limits, kLimits, n, ctx, path))},
};

const Field<SendConnector> kSendConnector[] = {
    {"name", "string", "(required)", "Connector name, used in logs.",
     SET(if (auto v = read_string(n, ctx, path)) t.name = *v)},
    {"address_spaces", "list of domains", "(required)", "Recipient domains routed here: \"*\", \"example.test\", \"*.example.test\"; the most specific match wins.",
     SET(if (auto v = read_strings(n, ctx, path)) {
         for (std::string& s : *v) {
             s = lower(s);
             if (!valid_address_space(s)) ctx.error(line_of(n), path, "\"" + s + "\" is not an address space", "\"*\", \"example.test\" or \"*.example.test\"");
         }
         t.address_spaces = *v;
     })},
    {"route", "string", "\"mx\"", "mx: look up the domain's MX hosts; smarthost: hand everything to `smarthosts`.",
     SET(if (auto v = read_enum(n, ctx, path, kRoutes)) t.route = *v)},
    {"smarthosts", "list of host:port", "[]", "Smart hosts tried in order, e.g. [\"relay.example.test:25\"]; port defaults to 25.",
     SET(if (auto v = read_endpoints(n, ctx, path, true, 25)) t.smarthosts = *v)},
    {"tls", "string", "\"opportunistic\"", "none | opportunistic (STARTTLS when offered) | required | verify (required, certificate and name checked).",
     SET(if (auto v = read_enum(n, ctx, path, kOutboundTls)) t.tls = *v)},
    {"max_connections", "count", "20", "Simultaneous connections to one destination.",
     SET(if (auto v = read_count(n, ctx, path, 1, 10000)) t.max_connections = static_cast<std::uint32_t>(*v))},
    {"mx_port", "count", "25", "TCP port used towards MX hosts (test networks may run peers elsewhere).",
     SET(if (auto v = read_count(n, ctx, path, 1, 65535)) t.mx_port = static_cast<std::uint16_t>(*v))},
};

const Field<QueueSettings> kQueue[] = {
    {"retry_interval", "duration", "\"5m\"", "Delay before a deferred message is tried again the first time; later delays grow by retry_backoff.",
     SET(if (auto v = read_duration(n, ctx, path)) t.retry_interval = *v)},
    {"max_retry_interval", "duration", "\"1h\"", "Longest delay between two attempts.",
     SET(if (auto v = read_duration(n, ctx, path)) t.max_retry_interval = *v)},
    {"retry_backoff", "number", "2.0", "Factor by which each delay grows (exponential backoff); 1.0 keeps retry_interval.",
     SET(if (auto v = read_factor(n, ctx, path)) t.retry_backoff = *v)},
    {"max_lifetime", "duration", "\"5d\"", "How long a message may stay queued; then its still-deferred recipients bounce (5.4.7).",
     SET(if (auto v = read_duration(n, ctx, path)) t.max_lifetime = *v)},
    {"delay_warning", "duration", "\"4h\"", "Age at which one delay notice goes to the sender (recipients with NOTIFY=DELAY or no NOTIFY); a value at or above max_lifetime sends none.",
     SET(if (auto v = read_duration(n, ctx, path)) t.delay_warning = *v)},
    {"delivery_concurrency", "count", "100", "Messages being delivered at once.",
     SET(if (auto v = read_count(n, ctx, path, 1, 10000)) t.delivery_concurrency = static_cast<std::uint32_t>(*v))},
    {"destination_concurrency", "count", "50", "Of those, messages to one destination (the recipient domain) at once; the others wait while other destinations go ahead.",
     SET(if (auto v = read_count(n, ctx, path, 1, 10000)) t.destination_concurrency = static_cast<std::uint32_t>(*v))},
};

const Field<DnsSettings> kDns[] = {
    {"servers", "list of address:port", "[]", "Name servers queried for MX and address records, e.g. [\"127.0.0.1:53\"]; port defaults to 53; IPv4 only. Empty: the system resolver (/etc/resolv.conf).",
     SET(if (auto v = read_endpoints(n, ctx, path, false, 53)) {
         for (const Endpoint& e : *v)
             if (e.host.find(':') != std::string::npos)
                 ctx.error(line_of(n), path, "\"" + e.text() + "\": IPv6 name servers are not supported", "an IPv4 address, e.g. \"127.0.0.1:53\"");
         t.servers = *v;
     })},
    {"timeout", "duration", "\"5s\"", "Wait for one answer from one server (rounded up to whole seconds); each server is asked twice.",
     SET(if (auto v = read_duration(n, ctx, path)) t.timeout = *v)},
};

#undef SET

template <class T, std::size_t N>
std::string known_keys(const Field<T> (&fields)[N]) {
    std::string out;
    for (const auto& f : fields) out += (out.empty() ? "" : ", ") + std::string(f.key);
    return "known keys: " + out;
}

template <class T, std::size_t N>
void apply_table(T& target, const Field<T> (&fields)[N], const toml::node& node, Ctx& ctx, const std::string& prefix) {
    const toml::table* tbl = node.as_table();
    if (!tbl) {
        ctx.error(line_of(node), prefix, "expected a table", "[" + prefix + "] or { key = value }");
        return;
    }
    for (const auto& [k, v] : *tbl) {
        std::string key(k.str());
        std::string path = prefix.empty() ? key : prefix + "." + key;
        auto it = std::find_if(std::begin(fields), std::end(fields), [&](const Field<T>& f) { return f.key == key; });
        if (it == std::end(fields)) {
            ctx.error(line_of(v), path, "unknown key", known_keys(fields));
            continue;
        }
        it->apply(target, v, ctx, path);
    }
}

template <class T, std::size_t N>
void require(const T&, const Field<T> (&)[N], const toml::table& tbl, std::string_view key, Ctx& ctx, const std::string& prefix) {
    if (!tbl.contains(key))
        ctx.error(line_of(tbl), prefix + "." + std::string(key), "required key is missing", "add " + std::string(key) + " = ...");
}

template <class T, std::size_t N, class Make>
void apply_array(std::vector<T>& out, const Field<T> (&fields)[N], const toml::node& node, Ctx& ctx,
                 const std::string& name, std::initializer_list<std::string_view> required, Make make) {
    const toml::array* arr = node.as_array();
    if (!arr) {
        ctx.error(line_of(node), name, "expected an array of tables", "write [[" + name + "]]");
        return;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node& item = (*arr)[i];
        std::string prefix = name + "[" + std::to_string(i) + "]";
        T value = make();
        if (const toml::table* t = item.as_table()) {
            for (std::string_view r : required) require(value, fields, *t, r, ctx, prefix);
            if constexpr (requires { value.line; }) value.line = line_of(item);
        }
        apply_table(value, fields, item, ctx, prefix);
        out.push_back(std::move(value));
    }
}

template <class T, std::size_t N>
void reference_section(std::string& out, std::string_view title, std::string_view intro, const Field<T> (&fields)[N]) {
    out += "### `" + std::string(title) + "`\n\n";
    if (!intro.empty()) out += std::string(intro) + "\n\n";
    out += "| key | type | default | meaning |\n| --- | --- | --- | --- |\n";
    for (const auto& f : fields) {
        std::string doc(f.doc);
        std::string esc;
        for (char c : doc) esc += c == '|' ? std::string("\\|") : std::string(1, c);
        out += "| `" + std::string(f.key) + "` | " + std::string(f.type) + " | `" + std::string(f.default_text) + "` | " + esc + " |\n";
    }
    out += "\n";
}

}  // namespace

void apply_document(const toml::table& root, Config& c, Ctx& ctx) {
    // The role decides listener defaults, so read it first.
    if (const toml::node* server = root.get("server")) apply_table(c.server, kServer, *server, ctx, "server");
    for (const auto& [k, v] : root) {
        std::string key(k.str());
        if (key == "server") continue;
        if (key == "domains") apply_array(c.domains, kDomain, v, ctx, key, {"name"}, [] { return Domain{}; });
        else if (key == "directory") apply_table(c.directory, kDirectory, v, ctx, key);
        else if (key == "tls") apply_table(c.tls, kTls, v, ctx, key);
        else if (key == "listeners")
            apply_array(c.listeners, kListener, v, ctx, key, {"name", "bind"}, [&] { return preset_listener(c.server.role); });
        else if (key == "send_connectors")
            apply_array(c.send_connectors, kSendConnector, v, ctx, key, {"name", "address_spaces"}, [] { return SendConnector{}; });
        else if (key == "queue") apply_table(c.queue, kQueue, v, ctx, key);
        else if (key == "dns") apply_table(c.dns, kDns, v, ctx, key);
        else ctx.error(line_of(v), key, "unknown section", "known sections: server, domains, directory, tls, listeners, send_connectors, queue, dns");
    }
}

std::string settings_reference() {
    std::string out;
    reference_section(out, "[server]", "", kServer);
    reference_section(out, "[[domains]]", "One table per accepted domain.", kDomain);
    reference_section(out, "[directory]", "", kDirectory);
    reference_section(out, "[tls]", "Certificate used by every listener that offers TLS.", kTls);
    reference_section(out, "[[listeners]]", "One table per receive endpoint. Keys left out take the role's preset.", kListener);
    reference_section(out, "[listeners.auth]", "", kAuth);
    reference_section(out, "[listeners.relay]", "", kRelay);
    reference_section(out, "[listeners.permissions]", "", kPermissions);
    reference_section(out, "[listeners.limits]", "", kLimits);
    reference_section(out, "[[send_connectors]]", "Outbound routes, chosen by recipient domain.", kSendConnector);
    reference_section(out, "[queue]", "", kQueue);
    reference_section(out, "[dns]", "Name resolution for send connectors with route = \"mx\".", kDns);
    return out;
}

}  // namespace rampart::config
