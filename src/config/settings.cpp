// config/settings.cpp — every configuration key, declared once: TOML name, type, default
// as documented, one line of documentation, and how it is applied. The loader walks these
// tables; `rampart settings` prints them (docs/configuration.md).
#include "config/settings.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <span>

#include "config/roles.hpp"
#include "config/table.hpp"
#include "config/units.hpp"
#include "net/certificate.hpp"
#include "util/text.hpp"

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

std::optional<milliseconds> read_duration(const toml::node& n, Ctx& ctx, const std::string& path, bool zero_ok = false) {
    if (n.is_string())
        if (auto v = parse_duration(*n.value<std::string>()); v && (v->count() > 0 || (zero_ok && v->count() == 0))) return v;
    ctx.error(line_of(n), path, "expected a duration",
              std::string(zero_ok ? "\"0s\" (off) or " : "") + "a string with a unit: \"30s\", \"5m\", \"2h\", \"1d\"");
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

// server.hostname: what is wrong with it per RFC 1035 §2.3.4 (and RFC 1123 §2.1: a label
// may start with a digit), or empty. The name goes verbatim into replies, Received headers,
// HELO/EHLO to next hops and the Kerberos principal, so nothing else may pass.
std::string hostname_problem(std::string_view h) {
    if (h.empty()) return "the host name is empty";
    if (h.size() > 253) return std::to_string(h.size()) + " characters, longer than 253 (RFC 1035 §2.3.4)";
    std::size_t start = 0;
    while (true) {
        std::size_t dot = h.find('.', start);
        std::string_view label = h.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty()) return "empty label (two dots in a row, or a dot at the start or end)";
        if (label.size() > 63)
            return "label \"" + std::string(label.substr(0, 20)) + "…\" is " + std::to_string(label.size()) +
                   " characters, longer than 63 (RFC 1035 §2.3.4)";
        for (char c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
                unsigned char u = static_cast<unsigned char>(c);
                std::string shown = u > 0x20 && u < 0x7f ? "'" + std::string(1, c) + "'" : "byte " + std::to_string(u);
                return shown + " is not allowed in a host name (letters, digits, hyphens and dots only)";
            }
        if (label.front() == '-' || label.back() == '-') return "label \"" + std::string(label) + "\" starts or ends with a hyphen";
        if (dot == std::string_view::npos) return {};
        start = dot + 1;
    }
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

constexpr std::array<std::pair<std::string_view, LocalDelivery>, 2> kLocalDelivery{{
    {"maildir", LocalDelivery::Maildir}, {"lmtp", LocalDelivery::Lmtp}}};

// "127.0.0.1:24", "[::1]:24" or an absolute path to a unix socket.
std::optional<Endpoint> read_lmtp_endpoint(const toml::node& n, Ctx& ctx, const std::string& path) {
    auto v = read_string(n, ctx, path);
    if (!v) return std::nullopt;
    if (!v->empty() && v->front() == '/') return Endpoint{*v, 0};
    if (auto e = parse_endpoint(*v, false, 24)) return e;
    ctx.error(line_of(n), path, "\"" + *v + "\" is neither address:port nor a socket path",
              "\"127.0.0.1:24\", \"[::1]:24\" or \"/run/dovecot/lmtp\"");
    return std::nullopt;
}

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

// [sender_filter] / [recipient_filter] block entries: "user@domain", "domain" or "*.domain".
std::optional<std::vector<std::string>> read_address_patterns(const toml::node& n, Ctx& ctx, const std::string& path) {
    auto items = read_strings(n, ctx, path);
    if (!items) return std::nullopt;
    for (const std::string& e : *items) {
        std::size_t at = e.rfind('@');
        bool ok = at == std::string::npos ? valid_address_space(e) && e != "*"
                                          : at > 0 && valid_domain_name(util::ascii_lower(e.substr(at + 1)));
        if (!ok) {
            ctx.error(line_of(n), path, "\"" + e + "\" is not an address, domain or *.domain",
                      "\"spammer@bad.test\", \"bad.test\" or \"*.bad.test\"");
            return std::nullopt;
        }
    }
    return items;
}

constexpr std::array<std::pair<std::string_view, SenderFilterAction>, 2> kSenderFilterAction{{
    {"reject", SenderFilterAction::Reject}, {"stamp", SenderFilterAction::Stamp}}};

// Shorthands for the tables below.
#define SET(expr) [](auto& t, const toml::node& n, Ctx& ctx, const std::string& path) { (void)t; (void)ctx; (void)path; expr; }

// ---- the tables ----

const Field<ServerSettings> kServer[] = {
    {"role", "string", "\"all-in-one\"", "Server role whose presets fill every listener key left out: gateway | mailbox | frontend | all-in-one | edge | hub.",
     SET(if (auto v = read_enum(n, ctx, path, kRoles)) t.role = *v)},
    {"hostname", "string", "\"localhost\"", "Name used in the greeting, EHLO reply, Received headers and HELO/EHLO to next hops; a domain name of letters, digits and hyphens (labels up to 63 characters, 253 in all).",
     SET(if (auto v = read_string(n, ctx, path)) {
         if (std::string why = hostname_problem(*v); !why.empty())
             ctx.error(line_of(n), path, why, "a fully qualified domain name, e.g. \"mx1.example.test\"");
         else t.hostname = *v;
     })},
    {"data_dir", "path", "\"var\"", "Spool, mailboxes and state; relative to the configuration file.",
     SET(if (auto v = read_string(n, ctx, path)) t.data_dir = *v)},
    {"threads", "count", "0", "Worker threads for network I/O; 0 means one per CPU.",
     SET(if (auto v = read_count(n, ctx, path, 0, 256)) t.threads = static_cast<std::uint32_t>(*v))},
    {"log_file", "path", "\"\"", "Append log lines to this file; empty means standard error.",
     SET(if (auto v = read_string(n, ctx, path)) t.log_file = *v)},
    {"log_level", "string", "\"info\"", "Least severe level written: debug | info | warning | error.",
     SET(if (auto v = read_enum(n, ctx, path, kLogLevels)) t.log_level = std::string(*v))},
    {"max_open_files", "count", "0", "Open-file limit (soft and hard) set by `rampart serve` at start; 0 keeps the hard limit it was started with (the soft limit is raised to it). Above that hard limit it needs root or CAP_SYS_RESOURCE and is capped at fs.nr_open; each connection holds 1 descriptor, plus about 1,000 for delivery and brief use (10,000 connections: about 11,000).",
     SET(if (auto v = read_count(n, ctx, path, 0, 1ull << 30)) t.max_open_files = *v)},
    {"user", "string", "\"rampart\"", "Started as root, `rampart serve` binds its ports and opens its files (spool, log, TLS keys, control socket), then runs as this Unix user (its groups too); data_dir is given to it. A user that does not exist stops the start unless run_as_root = true. Started as another user, no change.",
     SET(if (auto v = read_string(n, ctx, path)) {
         if (v->empty()) ctx.error(line_of(n), path, "empty user name", "a Unix user, e.g. \"rampart\" (useradd -r rampart)");
         else t.user = *v;
     })},
    {"run_as_root", "bool", "false", "true: started as root, stay root (no privilege drop). Off by default: a server that parses mail from the Internet should not hold root.",
     SET(if (auto v = read_bool(n, ctx, path)) t.run_as_root = *v)},
    {"local_submission", "string", "\"submission\"", "The listener whose policy governs `rampart sendmail` (local submission over data_dir/submit.sock, the calling Unix user authenticated by the kernel); empty turns local submission off. Left at its default, a configuration without a \"submission\" listener has local submission off; set explicitly, the listener must exist.",
     SET(if (auto v = read_string(n, ctx, path)) {
         t.local_submission = *v;
         t.local_submission_line = line_of(n);
     })},
};

const Field<Domain> kDomain[] = {
    {"name", "string", "(required)", "An accepted domain, e.g. \"example.test\".",
     SET(if (auto v = read_string(n, ctx, path)) {
         std::string d = util::ascii_lower(*v);
         if (valid_domain_name(d)) t.name = d;
         else ctx.error(line_of(n), path, "\"" + *v + "\" is not a domain name", "letters, digits, hyphens and dots; no trailing dot");
     })},
    {"type", "string", "\"authoritative\"", "authoritative (mailboxes here) | internal-relay | external-relay.",
     SET(if (auto v = read_enum(n, ctx, path, kDomainTypes)) t.type = *v)},
};

const Field<DirectorySettings> kDirectory[] = {
    {"backend", "string", "\"file\"", "Where users, groups and servers come from: file | ldap.",
     SET(if (auto v = read_enum(n, ctx, path, kBackends)) t.backend = std::string(*v))},
    {"file", "path", "\"directory.toml\"", "Directory file for the file backend (with ldap: organisation servers only); relative to the configuration file.",
     SET(if (auto v = read_string(n, ctx, path)) t.file = *v)},
    {"ldap_uri", "string", "\"\"", "LDAP server for backend = \"ldap\": \"ldaps://host\", or \"ldap://host:389\" with ldap_starttls (plain ldap:// only to a loopback address).",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_uri = *v)},
    {"ldap_starttls", "bool", "false", "Upgrade ldap:// connections with StartTLS; the server certificate is verified.",
     SET(if (auto v = read_bool(n, ctx, path)) t.ldap_starttls = *v)},
    {"ldap_ca_file", "path", "\"\"", "PEM CA certificates that sign the LDAP server's certificate. Empty: the system's CAs.",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_ca_file = *v)},
    {"ldap_bind_dn", "string", "\"\"", "DN rampart binds as to read users and groups. Empty: anonymous search.",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_bind_dn = *v)},
    {"ldap_bind_password_file", "path", "\"\"", "File holding ldap_bind_dn's password (first line). The password is never written in the configuration.",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_bind_password_file = *v)},
    {"ldap_base_dn", "string", "\"\"", "Subtree searched for users and groups, e.g. \"dc=example,dc=test\".",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_base_dn = *v)},
    {"ldap_user_filter", "string", "\"(objectClass=inetOrgPerson)\"", "LDAP filter (RFC 4515) selecting user entries.",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_user_filter = *v)},
    {"ldap_user_attribute", "string", "\"uid\"", "Attribute holding the user name given in SMTP AUTH (AD: sAMAccountName).",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_user_attribute = *v)},
    {"ldap_address_attributes", "list of strings", "[\"mail\"]", "Attributes holding the addresses a user may send as, e.g. [\"mail\", \"mailAlternateAddress\"].",
     SET(if (auto v = read_strings(n, ctx, path)) t.ldap_address_attributes = *v)},
    {"ldap_kerberos_attribute", "string", "\"\"", "Attribute holding the user's Kerberos principals (name@REALM), e.g. krbPrincipalName or userPrincipalName. Empty: none.",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_kerberos_attribute = *v)},
    {"ldap_safe_senders_attribute", "string", "\"\"", "Attribute holding the user's safe senders (addresses, or domains without their subdomains), which skip the content filter for that user, as safe_senders in the directory file. Empty: none.",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_safe_senders_attribute = *v)},
    {"ldap_group_filter", "string", "\"(objectClass=groupOfNames)\"", "LDAP filter selecting group entries.",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_group_filter = *v)},
    {"ldap_group_attribute", "string", "\"cn\"", "Attribute holding the group name used in group:NAME grants.",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_group_attribute = *v)},
    {"ldap_member_attribute", "string", "\"member\"", "Group attribute listing members: DNs of users or groups (nested), or user names (memberUid).",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_member_attribute = *v)},
    {"ldap_send_as_any_group", "string", "\"\"", "Members of this LDAP group (directly or nested) may send as any address. Empty: nobody.",
     SET(if (auto v = read_string(n, ctx, path)) t.ldap_send_as_any_group = *v)},
    {"ldap_refresh_interval", "duration", "\"5m\"", "Reload users and groups this often (and on SIGHUP); a failed load keeps the last good directory.",
     SET(if (auto v = read_duration(n, ctx, path)) t.ldap_refresh_interval = *v)},
    {"ldap_timeout", "duration", "\"10s\"", "Longest wait for the LDAP server per operation (connect, bind, search).",
     SET(if (auto v = read_duration(n, ctx, path)) t.ldap_timeout = *v)},
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
    {"integrated", "bool", "role preset", "SASL GSSAPI (Kerberos, RFC 4752); offered only when [kerberos] keytab is set.",
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
    {"force_open_relay", "bool", "false", "DANGEROUS. Accept a relay rule that admits any address (an open relay); without it `serve` and `check` refuse such a configuration.",
     SET(if (auto v = read_bool(n, ctx, path)) t.force_open_relay = *v)},
};

const Field<Permissions> kPermissions[] = {
    {"submit", "list of grants", "[]", "Users who may submit after authenticating: \"user:NAME\", \"group:NAME\", \"authenticated\". Empty: servers only.",
     SET(if (auto v = read_grants(n, ctx, path)) t.submit = *v)},
    {"relay", "list of grants", "[]", "Users who may relay after authenticating (same forms as submit).",
     SET(if (auto v = read_grants(n, ctx, path)) t.relay = *v)},
};

const Field<ListenerLimits> kLimits[] = {
    {"max_message_size", "size", "\"35MiB\"", "Largest message accepted, counted as it will be sent on: with the Received header rampart adds; SIZE (RFC 1870) announces what is left for the client's message.",
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
    {"command_timeout", "duration", "\"5m\"", "Longest wait for the next whole command line before 421 4.4.2 (RFC 5321 §4.5.3.2.7); it bounds the line, not each read, so a client sending a byte now and then is cut off too.",
     SET(if (auto v = read_duration(n, ctx, path)) t.command_timeout = *v)},
    {"data_timeout", "duration", "\"10m\"", "Longest time for receiving one message's data (DATA, or all BDAT chunks from the first).",
     SET(if (auto v = read_duration(n, ctx, path)) t.data_timeout = *v)},
    {"auth_failure_delay", "duration", "\"1s\"", "Tarpit: wait this long before answering a failed AUTH, doubling with each further failure from the address; \"0s\": off.",
     SET(if (auto v = read_duration(n, ctx, path, true)) t.auth_failure_delay = *v)},
    {"auth_failure_delay_max", "duration", "\"5s\"", "Longest tarpit wait.",
     SET(if (auto v = read_duration(n, ctx, path, true)) t.auth_failure_delay_max = *v)},
    {"auth_lockout_failures", "count", "5", "AUTH failures within auth_lockout_window that lock out the client address and the user name (454 4.7.0); 0: no lockout.",
     SET(if (auto v = read_count(n, ctx, path, 0, 100000)) t.auth_lockout_failures = static_cast<std::uint32_t>(*v))},
    {"auth_lockout_window", "duration", "\"10m\"", "Window in which failures are counted, and how long a lockout lasts.",
     SET(if (auto v = read_duration(n, ctx, path)) t.auth_lockout_window = *v)},
    {"max_messages_per_hour", "count", "500", "Messages one authenticated user may send per hour (all listeners together); more get 450 4.7.1; 0: no limit.",
     SET(if (auto v = read_count(n, ctx, path, 0, 100000000)) t.max_messages_per_hour = static_cast<std::uint32_t>(*v))},
    {"max_recipients_per_hour", "count", "2000", "Recipients one authenticated user may send to per hour; more get 450 4.7.1; 0: no limit.",
     SET(if (auto v = read_count(n, ctx, path, 0, 100000000)) t.max_recipients_per_hour = static_cast<std::uint32_t>(*v))},
};

template <class T, std::size_t N>
void apply_table(T& target, const Field<T> (&fields)[N], const toml::node& node, Ctx& ctx, const std::string& prefix);
template <class T, std::size_t N, class Make>
void apply_array(std::vector<T>& out, const Field<T> (&fields)[N], const toml::node& node, Ctx& ctx,
                 const std::string& name, std::initializer_list<std::string_view> required, Make make);

const Field<Listener> kListener[] = {
    {"name", "string", "(required)", "Listener name, used in logs, `explain` and `check`.",
     SET(if (auto v = read_string(n, ctx, path)) t.name = *v)},
    {"preset", "string", "role preset", "Listener kind whose role preset fills the keys left out: smtp (port-25 terms: servers, applications, devices) | submission (users who authenticate, RFC 6409). Default: the kind of the role's default listener of the same name, else smtp.",
     SET(if (auto v = read_enum(n, ctx, path, kListenerKinds)) t.preset = *v)},
    {"bind", "list of address:port", "role preset", "Addresses and ports to listen on: [\"127.0.0.1:2525\", \"[::1]:2525\"]. Preset: 127.0.0.1:2525 (smtp), 127.0.0.1:2587 (submission).",
     SET(if (auto v = read_endpoints(n, ctx, path, false, 0)) t.bind = *v)},
    {"tls", "string", "\"starttls\"", "none | starttls (offer STARTTLS, RFC 3207) | implicit (TLS from the first byte, RFC 8314).",
     SET(if (auto v = read_enum(n, ctx, path, kTlsModes)) t.tls = *v)},
    {"remote_ranges", "list of prefixes", "[\"0.0.0.0/0\", \"::/0\"]", "Client addresses allowed to connect; others get 554 5.7.1 at the greeting.",
     SET(if (auto v = read_cidrs(n, ctx, path)) t.remote_ranges = *v)},
    {"internet_facing", "bool", "from remote_ranges", "Reachable from the Internet: an anonymous client may not use a sender in an authoritative or internal-relay domain unless it passes the relay list (550 5.7.1). Default: true if remote_ranges admit any public address.",
     SET(if (auto v = read_bool(n, ctx, path)) t.internet_facing = *v)},
    {"auth", "table", "role preset", "Authentication methods: see [listeners.auth].",
     SET(apply_table(t.auth, kAuth, n, ctx, path))},
    {"relay", "table", "role preset", "Relay restrictions: see [listeners.relay].",
     SET(apply_table(t.relay, kRelay, n, ctx, path))},
    {"permissions", "table", "role preset", "Submit and relay grants: see [listeners.permissions].",
     SET(apply_table(t.permissions, kPermissions, n, ctx, path))},
    {"limits", "table", "see [listeners.limits]", "Sizes, counts and timeouts: see [listeners.limits].",
     SET(apply_table(t.limits, kLimits, n, ctx, path))},
    {"filters", "bool", "role preset", "Run the filter chain ([connection_filter] ...) for this listener's sessions. Preset: on for the gateway's and the edge's smtp listener, off elsewhere. Authenticated users and organisation servers skip the anti-spam agents.",
     SET(if (auto v = read_bool(n, ctx, path)) t.filters = *v)},
    {"forbid_unauth_pipelining", "bool", "true", "Refuse a client that has not authenticated and sends bytes after DATA before the 354 reply (the SMTP smuggling pattern; RFC 2920 lets DATA end a pipelined group, nothing may follow it): 554 5.5.0 and the connection is closed. Authenticated sessions and BDAT are not affected.",
     SET(if (auto v = read_bool(n, ctx, path)) t.forbid_unauth_pipelining = *v)},
    {"subscribed_edges_only", "bool", "role preset", "Admit only edges subscribed with `rampart hub add-edge` (data_dir/hub/edges): the client address must be an edge's, checked at connect; the TLS client certificate must be that edge's pinned one, checked right after STARTTLS (the edge is then the organisation server `server:EDGE`); before STARTTLS only EHLO, HELO, STARTTLS, NOOP, RSET and QUIT are accepted. Anyone else: 554 5.7.1 (rule from-edge.pinned). Preset: on for the hub's from-edge listener. See docs/perimeter.md.",
     SET(if (auto v = read_bool(n, ctx, path)) t.subscribed_edges_only = *v)},
};

const Field<SendConnector> kSendConnector[] = {
    {"name", "string", "(required)", "Connector name, used in logs.",
     SET(if (auto v = read_string(n, ctx, path)) t.name = *v)},
    {"address_spaces", "list of domains", "(required)", "Recipient domains routed here: \"*\", \"example.test\", \"*.example.test\"; the most specific match wins.",
     SET(if (auto v = read_strings(n, ctx, path)) {
         for (std::string& s : *v) {
             s = util::ascii_lower(s);
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
    {"tls_ca_file", "path", "\"\"", "PEM file of CA certificates trusted with tls = \"verify\"; empty: the system store.",
     SET(if (auto v = read_string(n, ctx, path)) t.tls_ca_file = *v)},
    {"certificate", "path", "\"\"", "Client certificate (PEM chain) presented to peers that ask; with it, AUTH EXTERNAL is used where offered (organisation servers). May be the [tls] files. Empty: none.",
     SET(if (auto v = read_string(n, ctx, path)) t.certificate = *v)},
    {"key", "path", "\"\"", "PEM private key of the client certificate.",
     SET(if (auto v = read_string(n, ctx, path)) t.key = *v)},
    {"auth_user", "string", "\"\"", "User name for SASL PLAIN/LOGIN at the smart host; sent only over TLS (needs tls = required or verify).",
     SET(if (auto v = read_string(n, ctx, path)) t.auth_user = *v)},
    {"auth_password_file", "path", "\"\"", "File whose first line is the smart-host password (keep it mode 0600); read at start.",
     SET(if (auto v = read_string(n, ctx, path)) t.auth_password_file = *v)},
    {"allow_private_destinations", "bool", "false", "route = \"mx\" only: connect to loopback (127/8, ::1), private (RFC 1918, fc00::/7), link-local, CGNAT (100.64/10), unspecified, multicast and broadcast addresses (IPv4-mapped forms included) when an MX record or an address-literal recipient (user@[10.0.0.1]) names them. Off: such recipients fail with 550 5.4.4, so a client cannot make the server connect to inside services. Smart hosts are always allowed: the administrator named them.",
     SET(if (auto v = read_bool(n, ctx, path)) t.allow_private_destinations = *v)},
    {"tls_fingerprints", "list of strings", "[]", "Pin the next hop: its TLS certificate's SHA-256 fingerprint (as `openssl x509 -noout -fingerprint -sha256` prints it) must be one of these, else the attempt fails (4.7.5) and the message waits. Needs tls = \"required\" or \"verify\". The hub's implicit connector to its edges pins their certificates this way.",
     SET(if (auto v = read_strings(n, ctx, path)) {
         for (std::string& f : *v) {
             std::string norm = net::normalise_fingerprint(f);
             if (norm.empty()) ctx.error(line_of(n), path, "\"" + f + "\" is not a SHA-256 fingerprint", "64 hex digits, colons allowed");
             f = norm;
         }
         t.tls_fingerprints = *v;
     })},
};

// ---- [edge] (docs/perimeter.md; replication: docs/architecture.md "Replication") ----
const Field<EdgeSettings> kEdge[] = {
    {"bootstrap_lifetime", "duration", "\"24h\"", "How long the one-time bootstrap secret of a subscription file (`rampart edge new-subscription`) stays valid; `rampart hub add-edge` refuses an older file.",
     SET(if (auto v = read_duration(n, ctx, path)) t.bootstrap_lifetime = *v)},
    {"sync_bind", "address:port", "\"0.0.0.0:50636\"", "Where the edge listens for the hub's replication pushes (mutual TLS, pinned). A wildcard address needs `rampart edge new-subscription --address HOST` to tell the hub where to push.",
     SET(if (auto v = read_string(n, ctx, path)) {
         if (auto e = parse_endpoint(*v, false, 50636)) t.sync_bind = *e;
         else ctx.error(line_of(n), path, "\"" + *v + "\" is not an address:port", "\"0.0.0.0:50636\", \"[::]:50636\"");
     })},
    {"strip_internal_headers", "bool", "true", "Role edge, mail leaving by MX (the internet-facing connectors): remove the Received headers of internal hosts (every one below the edge's own, i.e. added before the edge received the message from the hub) and the trace headers of docs/perimeter.md (X-Originating-IP, X-Mailer-Host, ...), so that outside readers see the edge only.",
     SET(if (auto v = read_bool(n, ctx, path)) t.strip_internal_headers = *v)},
    {"hub_unreachable_warning", "duration", "\"1h\"", "Role edge: no push from the hub for this long logs the warning edge.hub.unreachable (once until the hub is back); the edge keeps serving from its last replica.",
     SET(if (auto v = read_duration(n, ctx, path)) t.hub_unreachable_warning = *v)},
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
    {"local_delivery_concurrency", "count", "20", "Messages whose pending recipients are all local (Maildir, LMTP) delivered at once, in slots of their own on top of delivery_concurrency: local mail never waits behind remote attempts (which a slow next hop can hold up to delivery.attempt_timeout).",
     SET(if (auto v = read_count(n, ctx, path, 1, 10000)) t.local_delivery_concurrency = static_cast<std::uint32_t>(*v))},
};

const Field<DnsSettings> kDns[] = {
    {"servers", "list of address:port", "[]", "Name servers asked every DNS question (delivery's MX and addresses, DNS lists, SPF, DKIM, DMARC), e.g. [\"127.0.0.1:53\"]; port defaults to 53; IPv4 only. Empty: the system resolver (/etc/resolv.conf).",
     SET(if (auto v = read_endpoints(n, ctx, path, false, 53)) {
         for (const Endpoint& e : *v)
             if (e.host.find(':') != std::string::npos)
                 ctx.error(line_of(n), path, "\"" + e.text() + "\": IPv6 name servers are not supported", "an IPv4 address, e.g. \"127.0.0.1:53\"");
         t.servers = *v;
     })},
    {"timeout", "duration", "\"5s\"", "Wait for one answer from one server (at least 100ms); each server is asked twice, so a look-up ends within 2 × servers × timeout.",
     SET(if (auto v = read_duration(n, ctx, path)) t.timeout = *v)},
    {"cache_entries", "integer", "10000", "Answers the shared resolver keeps (positive ones for their TTL, at most a day; NXDOMAIN and no-data ones for the zone's SOA negative TTL, RFC 2308, at most 3 hours); past it the least recently used goes. 0: no cache.",
     SET(if (auto v = read_count(n, ctx, path, 0, 10000000)) t.cache_entries = static_cast<std::size_t>(*v))},
};

const Field<KerberosSettings> kKerberos[] = {
    {"keytab", "path", "\"\"", "Keytab holding the key of service/hostname for SASL GSSAPI (auth.integrated); relative to the configuration file. Empty: GSSAPI is never offered.",
     SET(if (auto v = read_string(n, ctx, path)) t.keytab = *v)},
    {"service", "string", "\"smtp\"", "Service part of the acceptor principal: clients ask for a ticket to SERVICE/server.hostname.",
     SET(if (auto v = read_string(n, ctx, path)) {
         if (v->empty() || v->find_first_of("/@ ") != std::string::npos)
             ctx.error(line_of(n), path, "\"" + *v + "\" is not a service name", "a name without '/', '@' or spaces, e.g. \"smtp\"");
         else t.service = *v;
     })},
    {"realm", "string", "\"\"", "Default mapping: a principal NAME@realm (no instance) is the directory user NAME. Empty: only the `kerberos` lists of users and servers map principals.",
     SET(if (auto v = read_string(n, ctx, path)) t.realm = *v)},
};

const Field<DeliverySettings> kDelivery[] = {
    {"local", "string", "\"maildir\"", "How mail for authoritative domains is stored: maildir (under data_dir/mail) | lmtp (handed to `lmtp`, RFC 2033).",
     SET(if (auto v = read_enum(n, ctx, path, kLocalDelivery)) t.local = *v)},
    {"per_domain", "table", "{}", "Per authoritative domain override of `local`, e.g. { \"example.test\" = \"lmtp\" }.",
     SET(if (const toml::table* tbl = n.as_table()) {
         for (const auto& [k, v] : *tbl) {
             std::string d = util::ascii_lower(std::string(k.str()));
             if (!valid_domain_name(d)) ctx.error(line_of(v), path + "." + d, "not a domain name", "an authoritative domain, e.g. \"example.test\"");
             if (auto m = read_enum(v, ctx, path + "." + d, kLocalDelivery)) t.per_domain[d] = *m;
         }
     } else ctx.error(line_of(n), path, "expected a table", "{ \"example.test\" = \"lmtp\" }"))},
    {"lmtp", "address:port or path", "\"\"", "The LMTP server (mailbox store, e.g. Dovecot): \"127.0.0.1:24\" (port defaults to 24) or a unix socket path \"/run/dovecot/lmtp\".",
     SET(if (auto v = read_lmtp_endpoint(n, ctx, path)) t.lmtp = *v)},
    {"lmtp_max_connections", "count", "10", "Simultaneous connections to the LMTP server.",
     SET(if (auto v = read_count(n, ctx, path, 1, 1000)) t.lmtp_max_connections = static_cast<std::uint32_t>(*v))},
    {"connect_timeout", "duration", "\"30s\"", "Outbound SMTP/LMTP: wait for a TCP or unix-socket connection to open.",
     SET(if (auto v = read_duration(n, ctx, path)) t.connect_timeout = *v)},
    {"greeting_timeout", "duration", "\"5m\"", "Outbound: wait for the 220 greeting (RFC 5321 §4.5.3.2.1).",
     SET(if (auto v = read_duration(n, ctx, path)) t.greeting_timeout = *v)},
    {"command_timeout", "duration", "\"5m\"", "Outbound: wait for the reply to EHLO, STARTTLS, AUTH, MAIL, RCPT, RSET, QUIT (RFC 5321 §4.5.3.2.2-3), and to send a command.",
     SET(if (auto v = read_duration(n, ctx, path)) t.command_timeout = *v)},
    {"data_init_timeout", "duration", "\"2m\"", "Outbound: wait for the 354 reply to DATA (RFC 5321 §4.5.3.2.4).",
     SET(if (auto v = read_duration(n, ctx, path)) t.data_init_timeout = *v)},
    {"data_block_timeout", "duration", "\"3m\"", "Outbound: send one 64 KiB block of the message (RFC 5321 §4.5.3.2.5); a peer that stops reading fails the attempt.",
     SET(if (auto v = read_duration(n, ctx, path)) t.data_block_timeout = *v)},
    {"data_done_timeout", "duration", "\"10m\"", "Outbound: wait for the reply after the final dot or BDAT LAST (RFC 5321 §4.5.3.2.6).",
     SET(if (auto v = read_duration(n, ctx, path)) t.data_done_timeout = *v)},
    {"attempt_timeout", "duration", "\"30m\"", "Longest delivery attempt of one message, every peer and reply included; then the attempt is abandoned (recipients deferred, 4.4.2) and its delivery slot freed. Each reply still has its own timeout above.",
     SET(if (auto v = read_duration(n, ctx, path)) t.attempt_timeout = *v)},
    {"idle_connection_timeout", "duration", "\"10s\"", "An outbound connection kept for reuse after a transaction is closed with QUIT after this long unused; one the peer closed meanwhile is closed at once (checked every second).",
     SET(if (auto v = read_duration(n, ctx, path)) t.idle_connection_timeout = *v)},
};

// A DNS list zone: a host name (letters, digits, '-', '_', dots), lower-cased.
std::optional<std::string> read_zone(const toml::node& n, Ctx& ctx, const std::string& path) {
    auto v = read_string(n, ctx, path);
    if (!v) return std::nullopt;
    std::string z = util::ascii_lower(*v);
    while (!z.empty() && z.back() == '.') z.pop_back();
    bool ok = !z.empty() && z.size() <= 200 && z.front() != '.' && z.find("..") == std::string::npos;
    for (char c : z)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) ok = false;
    if (ok) return z;
    ctx.error(line_of(n), path, "\"" + *v + "\" is not a DNS zone name", "e.g. \"zen.spamhaus.org\"");
    return std::nullopt;
}

const Field<DnsListProvider> kBlockProvider[] = {
    {"zone", "string", "(required)", "The DNS list zone; the A records of the client's address reversed (IPv4 octets or IPv6 nibbles) under the zone are asked (RFC 5782): 192.0.2.99 → 99.2.0.192.ZONE.",
     SET(if (auto v = read_zone(n, ctx, path)) t.zone = *v)},
    {"match", "list of prefixes", "[\"127.0.0.0/8\"]", "The answers that count as listed (addresses or prefixes), e.g. [\"127.0.0.2\", \"127.0.0.4/30\"]; other answers are ignored (logged at debug). Default: any address in 127.0.0.0/8.",
     SET(if (auto v = read_cidrs(n, ctx, path)) t.match = *v)},
};

const Field<DnsListProvider> kAllowProvider[] = {
    {"zone", "string", "(required)", "The DNS allow-list zone; any A answer in 127.0.0.0/8 for the client's address lists it (RFC 5782 query names).",
     SET(if (auto v = read_zone(n, ctx, path)) t.zone = *v)},
};

constexpr std::array<std::pair<std::string_view, RefuseAt>, 2> kRefuseAt{{{"rcpt", RefuseAt::Rcpt}, {"connect", RefuseAt::Connect}}};

const Field<ConnectionFilterSettings> kConnectionFilter[] = {
    {"allow", "list of prefixes", "[]", "Client addresses this agent never refuses (checked before block), e.g. [\"192.0.2.0/24\"].",
     SET(if (auto v = read_cidrs(n, ctx, path)) t.allow = *v)},
    {"block", "list of prefixes", "[]", "Client addresses refused at connect with 550 5.7.1 instead of the greeting (implicit TLS listeners: closed before the handshake).",
     SET(if (auto v = read_cidrs(n, ctx, path)) t.block = *v)},
    {"block_providers", "array of tables", "[]", "DNS block lists (RFC 5782), [[connection_filter.block_providers]], asked in order at connect; the first that lists the client decides: 550 5.7.1 naming the zone, when `refuse_at` says. A list that does not answer within [dns] timeout is logged and skipped. See [[connection_filter.block_providers]] and \"Connection filter and DNS lists\" above.",
     SET(apply_array(t.block_providers, kBlockProvider, n, ctx, path, {"zone"}, [](const toml::node&) { return DnsListProvider{}; }))},
    {"allow_providers", "array of tables", "[]", "DNS allow lists, [[connection_filter.allow_providers]], asked at connect before the block lists: a listed client is not refused by this agent and skips the other anti-spam agents for the session (never the attachment filter or antivirus).",
     SET(apply_array(t.allow_providers, kAllowProvider, n, ctx, path, {"zone"}, [](const toml::node&) { return DnsListProvider{}; }))},
    {"refuse_at", "string", "\"rcpt\"", "rcpt | connect: when a client listed by a block provider is refused. rcpt (as Exchange does): the greeting, HELO and MAIL proceed and every RCPT gets 550 5.7.1 naming the zone; connect: 550 5.7.1 instead of the greeting. The static `block` list and `rampart block` entries always refuse at connect.",
     SET(if (auto v = read_enum(n, ctx, path, kRefuseAt)) t.refuse_at = *v)},
};

const Field<SenderFilterSettings> kSenderFilter[] = {
    {"block", "list of addresses", "[]", "Senders (MAIL FROM) this agent blocks: an address \"spammer@bad.test\", a domain \"bad.test\" or its subdomains \"*.bad.test\" (the domain itself not included). Case-insensitive; quoting of the local part does not matter.",
     SET(if (auto v = read_address_patterns(n, ctx, path)) t.block = *v)},
    {"block_blank_sender", "bool", "false", "The null sender MAIL FROM:<> (bounces, delivery reports) counts as blocked.",
     SET(if (auto v = read_bool(n, ctx, path)) t.block_blank_sender = *v)},
    {"action", "string", "\"reject\"", "reject | stamp. reject: 554 5.7.1 to MAIL FROM. stamp: the message is accepted and gets the header X-Rampart-Sender-Filter: blocked (RULE) for later agents and rules (an incoming header of that name is always removed).",
     SET(if (auto v = read_enum(n, ctx, path, kSenderFilterAction)) t.action = *v)},
};

const Field<RecipientFilterSettings> kRecipientFilter[] = {
    {"block", "list of addresses", "[]", "Recipients (RCPT TO) this agent refuses with 550 5.1.1, the reply of an unknown recipient (a harvester cannot tell them apart): addresses, domains or \"*.domain\" as in [sender_filter].",
     SET(if (auto v = read_address_patterns(n, ctx, path)) t.block = *v)},
    {"lookup", "bool", "true", "Unknown recipients of authoritative domains (the directory, on an edge the replicated recipient data, covers the domain and does not know the address) are refused by this agent with 550 5.1.1 after the tarpit.",
     SET(if (auto v = read_bool(n, ctx, path)) t.lookup = *v)},
    {"tarpit", "duration", "\"5s\"", "Wait before each refusal of this agent (per recipient, on a timer: other sessions are served meanwhile); makes a directory-harvest attack slow. \"0s\": answer at once.",
     SET(if (auto v = read_duration(n, ctx, path, true)) t.tarpit = *v)},
};

constexpr std::array<std::pair<std::string_view, SpfAction>, 3> kSpfFailActions{{
    {"reject", SpfAction::Reject}, {"stamp", SpfAction::Stamp}, {"accept", SpfAction::Accept}}};
constexpr std::array<std::pair<std::string_view, SpfAction>, 3> kSpfTempActions{{
    {"tempfail", SpfAction::Tempfail}, {"stamp", SpfAction::Stamp}, {"accept", SpfAction::Accept}}};
constexpr std::array<std::pair<std::string_view, DmarcAction>, 4> kDmarcActions{{
    {"reject", DmarcAction::Reject}, {"quarantine", DmarcAction::Quarantine}, {"stamp", DmarcAction::Stamp},
    {"accept", DmarcAction::Accept}}};

const Field<SenderAuthSettings> kSenderAuth[] = {
    {"spf_fail", "string", "\"reject\"", "What an SPF fail (RFC 7208 §8.4) of the MAIL FROM identity (HELO for the null sender) gets: reject | stamp | accept. reject: 550 5.7.23 (RFC 7372) to MAIL FROM. stamp: accepted, with the header X-Rampart-Sender-Auth: spf=fail (an incoming header of that name is always removed). accept: accepted; the result is only in Authentication-Results.",
     SET(if (auto v = read_enum(n, ctx, path, kSpfFailActions)) t.spf_fail = *v)},
    {"spf_softfail", "string", "\"stamp\"", "What an SPF softfail gets: reject | stamp | accept, as spf_fail (reject: 550 5.7.23).",
     SET(if (auto v = read_enum(n, ctx, path, kSpfFailActions)) t.spf_softfail = *v)},
    {"spf_temperror", "string", "\"tempfail\"", "What an SPF temperror (the sender's DNS did not answer, or the 20 s evaluation budget ran out) gets: tempfail | stamp | accept. tempfail: 451 4.7.24, the client retries later.",
     SET(if (auto v = read_enum(n, ctx, path, kSpfTempActions)) t.spf_temperror = *v)},
    {"spf_permerror", "string", "\"stamp\"", "What an SPF permerror (a broken record: syntax, more than 10 DNS-querying terms, more than 2 void look-ups, include loops) gets: reject | stamp | accept. reject: 550 5.7.24.",
     SET(if (auto v = read_enum(n, ctx, path, kSpfFailActions)) t.spf_permerror = *v)},
    {"dmarc_reject", "string", "\"reject\"", "What a DMARC (RFC 7489) failure of a From domain publishing p=reject (or sp=reject for its subdomains) gets: reject | quarantine | stamp | accept. reject: 550 5.7.1 naming the DMARC policy of the From domain, at end of data. quarantine: the message goes to the quarantine (`rampart quarantine`). stamp: delivered with X-Rampart-Sender-Auth: dmarc=fail. accept: delivered; the result is only in Authentication-Results. A failure is no SPF pass and no DKIM pass aligned with the From domain; a failing DKIM signature alone never refuses mail (RFC 6376 §6.3).",
     SET(if (auto v = read_enum(n, ctx, path, kDmarcActions)) t.dmarc_reject = *v)},
    {"dmarc_quarantine", "string", "\"quarantine\"", "What a DMARC failure of a From domain publishing p=quarantine gets: reject | quarantine | stamp | accept, as dmarc_reject. p=none: nothing but the Authentication-Results header.",
     SET(if (auto v = read_enum(n, ctx, path, kDmarcActions)) t.dmarc_quarantine = *v)},
    {"dmarc_temperror", "string", "\"tempfail\"", "What a DMARC temperror (the From domain's _dmarc record could not be looked up: a DNS failure or timeout) gets: tempfail | stamp | accept. tempfail: 451 4.7.1 at end of data, the client retries later (a DNS outage neither bounces nor lets through mail a domain asked to refuse).",
     SET(if (auto v = read_enum(n, ctx, path, kSpfTempActions)) t.dmarc_temperror = *v)},
    {"public_suffix_list", "path", "\"/usr/share/publicsuffix/public_suffix_list.dat\"", "The Public Suffix List (Debian package publicsuffix) DMARC uses for organisational domains (RFC 7489 §3.2); read once at start, relative to the configuration file. A missing or unreadable file stops the start with an error naming it.",
     SET(if (auto v = read_string(n, ctx, path)) t.public_suffix_list = *v)},
};

constexpr std::array<std::pair<std::string_view, AttachmentAction>, 3> kAttachmentActions{{
    {"strip", AttachmentAction::Strip}, {"reject", AttachmentAction::Reject}, {"silent-delete", AttachmentAction::SilentDelete}}};
constexpr std::array<std::pair<std::string_view, UnreadableArchives>, 2> kUnreadable{{
    {"block", UnreadableArchives::Block}, {"allow", UnreadableArchives::Allow}}};

const Field<AttachmentFilterSettings> kAttachmentFilter[] = {
    {"action", "string", "\"strip\"", "What a blocked attachment gets: strip | reject | silent-delete. strip (the part is replaced by a short text notice naming the file and the reason, the rest of the message is delivered byte for byte), reject (554 5.7.1 naming the file) or silent-delete (250, nothing delivered, logged). Strip falls back to reject when the blocked part is the whole message.",
     SET(if (auto v = read_enum(n, ctx, path, kAttachmentActions)) t.action = *v)},
    {"names", "list of globs", "preset", "File names blocked (`*` and `?`, case-insensitive; trailing dots and spaces ignored; RFC 2231 and encoded-word names decoded; zip member names too). Left out: the preset list in \"Attachment filter\" above; [] blocks no name.",
     SET(if (auto v = read_strings(n, ctx, path)) t.names = *v)},
    {"types", "list of globs", "preset", "Content types blocked, \"type/subtype\" (globs allowed), matched against the declared Content-Type and the type sniffed from the decoded bytes (zip members: sniffed). Left out: the preset list; [] blocks no type.",
     SET(if (auto v = read_strings(n, ctx, path)) {
         t.types.clear();
         for (const std::string& ty : *v) t.types.push_back(util::ascii_lower(ty));
     })},
    {"inspect_archives", "bool", "true", "Look inside zip archives (and zips inside them, to depth 4, 10000 members, 64 MiB inflated) and match each member by name and sniffed type.",
     SET(if (auto v = read_bool(n, ctx, path)) t.inspect_archives = *v)},
    {"unreadable_archives", "string", "\"block\"", "block | allow. A zip that cannot be fully inspected (an encrypted member, an unsupported compression method, nested too deep, a decompression bomb over the bounds, corrupt) and a MIME part the parser could not open (nested too deep, too many parts, an encoded multipart or message, a header over the limits): block applies `action` to it, allow lets it pass (logged).",
     SET(if (auto v = read_enum(n, ctx, path, kUnreadable)) t.unreadable_archives = *v)},
};

constexpr std::array<std::pair<std::string_view, OnInfected>, 3> kOnInfected{{
    {"reject", OnInfected::Reject}, {"quarantine", OnInfected::Quarantine}, {"strip", OnInfected::Strip}}};
constexpr std::array<std::pair<std::string_view, OnEngineError>, 2> kOnEngineError{{
    {"tempfail", OnEngineError::Tempfail}, {"accept", OnEngineError::Accept}}};

// "127.0.0.1:3310", "[::1]:3310" or "unix:/run/clamav/clamd.ctl" (host = the path, port 0).
std::optional<Endpoint> read_engine_address(const toml::node& n, Ctx& ctx, const std::string& path) {
    auto v = read_string(n, ctx, path);
    if (!v) return std::nullopt;
    if (v->rfind("unix:/", 0) == 0) return Endpoint{v->substr(5), 0};
    if (auto e = parse_endpoint(v->rfind("inet:", 0) == 0 ? std::string_view(*v).substr(5) : std::string_view(*v), false, 0)) return e;
    ctx.error(line_of(n), path, "\"" + *v + "\" is neither address:port nor unix:PATH",
              "\"127.0.0.1:3310\", \"[::1]:3310\" or \"unix:/run/clamav/clamd.ctl\"");
    return std::nullopt;
}

const Field<AntivirusEngine> kAntivirusEngine[] = {
    {"name", "string", "(required)", "Engine name, used in logs and in the reply to the client.",
     SET(if (auto v = read_string(n, ctx, path)) t.name = *v)},
    {"type", "string", "(required)", "clamd (ClamAV's daemon, INSTREAM protocol) | icap (an ICAP server, RFC 3507: c-icap's virus_scan, commercial scanners) | milter (any milter, e.g. clamav-milter: a reject, discard or quarantine of the message is \"infected\" with the milter's reply text, accept or continue is clean, a tempfail or any failure is the engine's failure).",
     SET(if (auto v = read_string(n, ctx, path)) {
         if (*v == "clamd" || *v == "icap" || *v == "milter") t.type = *v;
         else ctx.error(line_of(n), path, "unknown value \"" + *v + "\"", "clamd | icap | milter");
     })},
    {"address", "address:port or unix:path", "(required)", "Where the engine listens: \"127.0.0.1:3310\" or \"unix:/run/clamav/clamd.ctl\" (a milter's \"inet:127.0.0.1:8891\" is accepted too).",
     SET(if (auto v = read_engine_address(n, ctx, path)) t.address = *v)},
    {"timeout", "duration", "\"30s\"", "The whole scan of one message: connect, send, verdict. Past it the engine counts as failed (on_error).",
     SET(if (auto v = read_duration(n, ctx, path)) t.timeout = *v)},
    {"service", "string", "\"avscan\"", "type = \"icap\" only: the ICAP service path asked for, icap://ADDRESS/SERVICE (c-icap's virus_scan: \"avscan\" or \"srv_clamav\"; a commercial scanner's manual names its own).",
     SET(if (auto v = read_string(n, ctx, path)) {
         if (v->empty() || v->find_first_of(" \t\r\n?#") != std::string::npos || (*v)[0] == '/')
             ctx.error(line_of(n), path, "\"" + *v + "\" is not an ICAP service path", "a path without spaces, ? or #, not starting with /, e.g. \"avscan\"");
         else t.service = *v;
     })},
    {"method", "string", "\"respmod\"", "type = \"icap\" only: respmod (the message as the body of an HTTP response: what virus scanners expect) | reqmod (as the body of an HTTP POST, for a scanner that only scans requests).",
     SET(if (auto v = read_string(n, ctx, path)) {
         if (*v == "respmod" || *v == "reqmod") t.reqmod = *v == "reqmod";
         else ctx.error(line_of(n), path, "unknown value \"" + *v + "\"", "respmod | reqmod");
     })},
    {"preview", "bool", "false", "type = \"icap\" only: ask the server's OPTIONS first (on the scan's connection) and send the preview it asks for, the rest after its 100 Continue. Off: the whole message at once, no OPTIONS.",
     SET(if (auto v = read_bool(n, ctx, path)) t.preview = *v)},
};

const Field<AntivirusSettings> kAntivirus[] = {
    {"on_infected", "string", "\"reject\"", "reject (554 5.7.1 naming the signature) | quarantine (250, held in the quarantine) | strip (each part scanned alone, the infected ones replaced by a notice; a message that cannot be cleaned that way is rejected).",
     SET(if (auto v = read_enum(n, ctx, path, kOnInfected)) t.on_infected = *v)},
    {"on_error", "string", "\"tempfail\"", "An engine down, past its timeout, or answering garbage (or clamd's StreamMaxLength exceeded): tempfail (451 4.7.1, fail closed) | accept (the engine is ignored; `rampart check` reports it as an exposure).",
     SET(if (auto v = read_enum(n, ctx, path, kOnEngineError)) t.on_error = *v)},
    {"cache_ttl", "duration", "\"5m\"", "How long an engine's verdict (clean or infected, never a failure) is remembered for the same bytes (SHA-256 of what was scanned), so a run of the same payload costs one scan per engine; \"0s\" turns the cache off. A hit says \"cached\" in the filter.verdict reason.",
     SET(if (auto v = read_duration(n, ctx, path, true)) t.cache_ttl = *v)},
    {"cache_entries", "count", "10000", "The most verdicts the cache holds (one per engine and message); past it the least recently used is dropped.",
     SET(if (auto v = read_count(n, ctx, path, 1, 10000000)) t.cache_entries = static_cast<std::size_t>(*v))},
    {"engines", "array of tables", "(required)", "The engines, [[antivirus.engines]]; every one must say clean. See [[antivirus.engines]].",
     SET(apply_array(t.engines, kAntivirusEngine, n, ctx, path, {"name", "type", "address"}, [](const toml::node&) { return AntivirusEngine{}; }))},
};

constexpr std::array<std::pair<std::string_view, ContentEngine>, 2> kContentEngines{{
    {"rspamd", ContentEngine::Rspamd}, {"none", ContentEngine::None}}};

std::optional<int> read_scl_threshold(const toml::node& n, Ctx& ctx, const std::string& path) {
    if (auto v = read_count(n, ctx, path, 0, 9)) return static_cast<int>(*v);
    return std::nullopt;
}

const Field<ContentFilterSettings> kContentFilter[] = {
    {"engine", "string", "\"rspamd\"", "rspamd (its HTTP /checkv2 protocol) | none (nothing is scanned; incoming X-Rampart-SCL headers are still removed, and a stamp from an organisation server is still judged by the thresholds).",
     SET(if (auto v = read_enum(n, ctx, path, kContentEngines)) t.engine = *v)},
    {"address", "address:port", "\"127.0.0.1:11333\"", "rspamd's normal worker (HTTP, plain TCP).",
     SET(if (auto v = read_string(n, ctx, path)) {
         if (auto e = parse_endpoint(*v, false, 0); e && e->port != 0) t.address = *e;
         else ctx.error(line_of(n), path, "\"" + *v + "\" is not address:port", "\"127.0.0.1:11333\" or \"[::1]:11333\"");
     })},
    {"reject_at", "SCL 0-9", "7", "550 5.7.1 (the SCL in the text) for a message whose SCL is at least this; 0: off.",
     SET(if (auto v = read_scl_threshold(n, ctx, path)) t.reject_at = *v)},
    {"quarantine_at", "SCL 0-9", "0", "The message is held in the quarantine (`rampart quarantine`) at this SCL or above; 0: off.",
     SET(if (auto v = read_scl_threshold(n, ctx, path)) t.quarantine_at = *v)},
    {"delete_at", "SCL 0-9", "0", "250 to the client and nothing delivered (logged) at this SCL or above; 0: off. Checked first, then reject_at, then quarantine_at (Exchange's order).",
     SET(if (auto v = read_scl_threshold(n, ctx, path)) t.delete_at = *v)},
    {"on_error", "string", "\"tempfail\"", "rspamd down, past its timeout, or answering garbage: tempfail (451 4.7.1, fail closed) | accept (the message passes unscanned, without a stamp; `rampart check` reports it as an exposure).",
     SET(if (auto v = read_enum(n, ctx, path, kOnEngineError)) t.on_error = *v)},
    {"timeout", "duration", "\"30s\"", "The whole check of one message: connect, send, reply. Past it rspamd counts as failed (on_error).",
     SET(if (auto v = read_duration(n, ctx, path)) t.timeout = *v)},
};

const Field<MilterSettings> kMilter[] = {
    {"name", "string", "(required)", "Milter name, used in logs and `explain` (the agent is \"milter:NAME\").",
     SET(if (auto v = read_string(n, ctx, path)) t.name = *v)},
    {"address", "inet:address:port or unix:path", "(required)", "Where the milter listens: \"inet:127.0.0.1:8891\", \"inet:[::1]:8891\" or \"unix:/run/opendkim/opendkim.sock\".",
     SET(if (auto v = read_engine_address(n, ctx, path)) t.address = *v)},
    {"on_error", "string", "\"tempfail\"", "The milter down, past a timeout, or answering garbage: tempfail (451 4.7.1, fail closed) | accept (logged, the milter is skipped for the rest of the session; `rampart check` reports it as an exposure).",
     SET(if (auto v = read_enum(n, ctx, path, kOnEngineError)) t.on_error = *v)},
    {"connect_timeout", "duration", "\"10s\"", "Connecting to the milter and negotiating options (at the session's first event).",
     SET(if (auto v = read_duration(n, ctx, path)) t.connect_timeout = *v)},
    {"command_timeout", "duration", "\"30s\"", "The milter's reply to each of connect, HELO, MAIL FROM and RCPT TO.",
     SET(if (auto v = read_duration(n, ctx, path)) t.command_timeout = *v)},
    {"content_timeout", "duration", "\"5m\"", "The whole message at end of data: headers, body and the milter's end-of-message reply with its modifications.",
     SET(if (auto v = read_duration(n, ctx, path)) t.content_timeout = *v)},
};

const Field<HubSettings> kHub[] = {
    {"config_interval", "duration", "\"3m\"", "Role hub: how often the accepted domains and routes are pushed to every subscribed edge (also at start and on `rampart hub sync --now`).",
     SET(if (auto v = read_duration(n, ctx, path)) t.config_interval = *v)},
    {"recipients_interval", "duration", "\"5m\"", "Role hub: how often the recipients and safe lists (as HMAC-SHA-256 under the organisation key) are pushed to every subscribed edge.",
     SET(if (auto v = read_duration(n, ctx, path)) t.recipients_interval = *v)},
};

const Field<QuarantineSettings> kQuarantine[] = {
    {"max_age", "duration", "\"30d\"", "Quarantined messages older than this are deleted; until then `rampart quarantine release|delete ID` decides.",
     SET(if (auto v = read_duration(n, ctx, path)) t.max_age = *v)},
};

std::optional<std::optional<Endpoint>> read_admin_bind(const toml::node& n, Ctx& ctx, const std::string& path) {
    auto v = read_string(n, ctx, path);
    if (!v) return std::nullopt;
    if (v->empty()) return std::optional<Endpoint>{};
    if (auto e = parse_endpoint(*v, false, 0)) return std::optional<Endpoint>{*e};
    ctx.error(line_of(n), path, "expected \"address:port\" or \"\" (off)", "\"127.0.0.1:2580\", \"[::1]:2580\", \"\"");
    return std::nullopt;
}

const Field<AdminSettings> kAdmin[] = {
    {"bind", "address:port", "\"127.0.0.1:2580\"", "Where the admin listener (HTTP/1.1: GET /metrics in the Prometheus text format) listens. \"\": off. On a loopback address plain HTTP without a token is allowed; any other address needs tls_certificate, tls_key and token_file.",
     SET(if (auto v = read_admin_bind(n, ctx, path)) t.bind = *v)},
    {"tls_certificate", "path", "\"\"", "PEM certificate chain of the admin listener; with tls_key, the listener speaks HTTPS only.",
     SET(if (auto v = read_string(n, ctx, path)) t.tls_certificate = *v)},
    {"tls_key", "path", "\"\"", "PEM private key matching tls_certificate.",
     SET(if (auto v = read_string(n, ctx, path)) t.tls_key = *v)},
    {"token_file", "path", "\"\"", "File holding the bearer token (one line) every request but the web console's must present as `Authorization: Bearer TOKEN` (compared in constant time; 401 otherwise; the console has its own sign-in). Empty: no token (loopback only). Read again on reload (SIGHUP): a file that cannot be read or holds no token keeps the token in force (logged as admin.token.kept).",
     SET(if (auto v = read_string(n, ctx, path)) t.token_file = *v)},
    {"console_group", "string", "\"rampart-admins\"", "Directory group whose members may sign in to the web console (docs/console.md) with their directory password; members of groups nested in it count. Failed sign-ins count in the same AUTH lockout as SMTP.",
     SET(if (auto v = read_string(n, ctx, path)) { if (v->empty()) ctx.error(line_of(n), path, "empty group name", "a directory group, e.g. \"rampart-admins\""); else t.console_group = *v; })},
    {"console_session_lifetime", "duration", "\"8h\"", "A console session ends this long after sign-in (and after 30 minutes without a request), whatever the browser does.",
     SET(if (auto v = read_duration(n, ctx, path)) t.console_session_lifetime = *v)},
};

// A non-loopback admin listener without TLS and a token would publish the server's
// state (and later its console) to the network in clear text.
void check_admin(const AdminSettings& a, Ctx& ctx) {
    if (a.tls_certificate.empty() != a.tls_key.empty())
        ctx.error(a.line, "admin.tls_key", "tls_certificate and tls_key go together", "set both, or neither");
    if (!a.bind) return;
    auto ip = net::IpAddress::parse(a.bind->host);
    bool loopback = false;
    if (ip) {
        net::IpAddress u = ip->unmapped();
        loopback = u.v6 ? u == *net::IpAddress::parse("::1") : u.bytes[0] == 127;
    }
    if (!loopback && (a.tls_certificate.empty() || a.token_file.empty()))
        ctx.error(a.line, "admin.bind", "the admin listener on " + a.bind->text() + " (not loopback) needs TLS and a bearer token",
                  "set admin.tls_certificate, admin.tls_key and admin.token_file, or bind to \"127.0.0.1:PORT\"");
}

const Field<TrackingSettings> kTracking[] = {
    {"enabled", "bool", "true", "Keep the message tracking store data_dir/tracking.db (`rampart track`): every message's receipt, filter verdicts, queueing, delivery attempts, reports and quarantine, and every refusal (connection, MAIL, RCPT, end of data) with the rule or agent and its reason. Written by one background thread; when it falls behind, events are dropped with a tracking.dropped warning, never a slower session. The X-Rampart-Tracking-Id header is added either way.",
     SET(if (auto v = read_bool(n, ctx, path)) t.enabled = *v)},
    {"max_age", "duration", "\"30d\"", "Tracking events older than this are deleted (checked at start and hourly).",
     SET(if (auto v = read_duration(n, ctx, path)) t.max_age = *v)},
    {"max_size", "size", "\"1GiB\"", "When the store's data grows past this, its oldest events are deleted until it is back under (checked at start and every minute while events arrive).",
     SET(if (auto v = read_size(n, ctx, path)) t.max_size = *v)},
};

std::optional<double> read_percent(const toml::node& n, Ctx& ctx, const std::string& path) {
    std::optional<double> v;
    if (n.is_floating_point()) v = *n.value<double>();
    else if (n.is_integer()) v = static_cast<double>(*n.value<std::int64_t>());
    if (v && *v >= 0.0 && *v <= 100.0) return v;
    ctx.error(line_of(n), path, "expected a percentage from 0 to 100", "e.g. 5 or 2.5 (0: off)");
    return std::nullopt;
}

const Field<BackPressureSettings> kBackPressure[] = {
    {"enabled", "bool", "true", "Watch the spool's disk and the queue's length and slow down, then refuse, MAIL FROM when they pass the watermarks below. See \"Back pressure\" above.",
     SET(if (auto v = read_bool(n, ctx, path)) t.enabled = *v)},
    {"disk_free_tarpit", "percentage", "8", "Free space or free inodes of data_dir's file system (the lower of the two, in percent) below which anonymous clients' MAIL FROM waits `tarpit` before its answer. 0: off.",
     SET(if (auto v = read_percent(n, ctx, path)) t.disk_free_tarpit = *v)},
    {"disk_free_refuse", "percentage", "4", "Below this, anonymous clients' MAIL FROM is refused with 452 4.3.1 and authenticated users' and organisation servers' MAIL FROM waits `tarpit`. 0: off.",
     SET(if (auto v = read_percent(n, ctx, path)) t.disk_free_refuse = *v)},
    {"disk_free_refuse_all", "percentage", "2", "Below this (the critical level), every MAIL FROM is refused with 452 4.3.1, authenticated and organisation servers included. 0: off.",
     SET(if (auto v = read_percent(n, ctx, path)) t.disk_free_refuse_all = *v)},
    {"queue_tarpit", "count", "50000", "Messages in the queue (deferred, held and quarantined included) at or above which anonymous clients' MAIL FROM waits `tarpit`. 0: off.",
     SET(if (auto v = read_count(n, ctx, path, 0, 100000000)) t.queue_tarpit = *v)},
    {"queue_refuse", "count", "100000", "Messages in the queue at or above which anonymous clients' MAIL FROM is refused with 452 4.3.1 and authenticated users and organisation servers wait `tarpit`. 0: off.",
     SET(if (auto v = read_count(n, ctx, path, 0, 100000000)) t.queue_refuse = *v)},
    {"queue_refuse_all", "count", "200000", "Messages in the queue at or above which every MAIL FROM is refused with 452 4.3.1. 0: off.",
     SET(if (auto v = read_count(n, ctx, path, 0, 100000000)) t.queue_refuse_all = *v)},
    {"tarpit", "duration", "\"2s\"", "How long a throttled MAIL FROM waits before its answer (on a timer: other sessions are served meanwhile).",
     SET(if (auto v = read_duration(n, ctx, path, true)) t.tarpit = *v)},
};

const Field<ReputationSettings> kReputation[] = {
    {"enabled", "bool", "true", "Keep a reputation level 0..9 per client address from what sessions on listeners with `filters = true` saw (HELO forgery, pregreet, pipelining violations, unknown recipients, spam confidence levels). See \"Reputation\" above.",
     SET(if (auto v = read_bool(n, ctx, path)) t.enabled = *v)},
    {"block_at", "number", "7", "At this level (1..9) the address goes on the dynamic block list (`rampart block list`: source \"reputation\") for `block_for`, and the connection filter refuses it at connect. 0: never block (the levels are still logged). Never for authenticated users, organisation servers or addresses in [connection_filter] allow.",
     SET(if (auto v = read_count(n, ctx, path, 0, 9)) t.block_at = static_cast<int>(*v))},
    {"block_for", "duration", "\"24h\"", "How long a reputation block lasts.",
     SET(if (auto v = read_duration(n, ctx, path)) t.block_for = *v)},
    {"half_life", "duration", "\"1h\"", "The counts behind the level decay by half in this time, so an address that stops misbehaving recovers.",
     SET(if (auto v = read_duration(n, ctx, path)) t.half_life = *v)},
    {"max_clients", "count", "100000", "Addresses remembered at once; when full, the one seen least recently is forgotten.",
     SET(if (auto v = read_count(n, ctx, path, 16, 10000000)) t.max_clients = *v)},
    {"greeting_delay", "duration", "\"0s\"", "Wait this long before sending the banner, on listeners with `filters = true`, so a client that talks first (a pregreet) is caught. \"0s\": no wait; bytes that already arrived before the banner still count.",
     SET(if (auto v = read_duration(n, ctx, path, true)) t.greeting_delay = *v)},
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
    // make(item) builds the starting value (a preset) from the entry's own table.
    const toml::array* arr = node.as_array();
    if (!arr) {
        ctx.error(line_of(node), name, "expected an array of tables", "write [[" + name + "]]");
        return;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node& item = (*arr)[i];
        std::string prefix = name + "[" + std::to_string(i) + "]";
        T value = make(item);
        if (const toml::table* t = item.as_table()) {
            for (std::string_view r : required) require(value, fields, *t, r, ctx, prefix);
            if constexpr (requires { value.line; }) value.line = line_of(item);
        }
        apply_table(value, fields, item, ctx, prefix);
        out.push_back(std::move(value));
    }
}

#define SET(expr) [](auto& t, const toml::node& n, Ctx& ctx, const std::string& path) { (void)t; (void)ctx; (void)path; expr; }

// ---- [[transport_rules]] ----

constexpr std::array<std::pair<std::string_view, RuleScope>, 2> kRuleScopes{{
    {"inside", RuleScope::Inside}, {"outside", RuleScope::Outside}}};

// Words and phrases for the *_contains conditions: non-empty, no control characters.
std::optional<std::vector<std::string>> read_words(const toml::node& n, Ctx& ctx, const std::string& path) {
    auto items = read_strings(n, ctx, path);
    if (!items) return std::nullopt;
    if (items->empty()) {
        ctx.error(line_of(n), path, "empty list", "at least one word or phrase, or leave the key out");
        return std::nullopt;
    }
    for (const std::string& w : *items)
        if (w.empty() || std::any_of(w.begin(), w.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
            ctx.error(line_of(n), path, "\"" + util::display_escape(w) + "\" is empty or has control characters", "e.g. [\"invoice\", \"wire transfer\"]");
            return std::nullopt;
        }
    return items;
}

bool valid_field_name(std::string_view name) {
    if (name.empty() || name.size() > 76) return false;
    for (char c : name)
        if (c <= 0x20 || c >= 0x7f || c == ':') return false;
    return true;
}

std::optional<std::vector<std::string>> read_field_names(const toml::node& n, Ctx& ctx, const std::string& path) {
    auto items = read_strings(n, ctx, path);
    if (!items) return std::nullopt;
    for (const std::string& f : *items)
        if (!valid_field_name(f)) {
            ctx.error(line_of(n), path, "\"" + util::display_escape(f) + "\" is not a header field name", "printable ASCII without spaces or ':', e.g. \"X-Mailer\"");
            return std::nullopt;
        }
    return items;
}

// "X-Name: value": a field name, a colon, a value of printable ASCII (spaces and tabs
// allowed), one line of at most 998 octets.
std::optional<std::vector<std::string>> read_header_fields(const toml::node& n, Ctx& ctx, const std::string& path) {
    auto items = read_strings(n, ctx, path);
    if (!items) return std::nullopt;
    for (const std::string& f : *items) {
        std::size_t colon = f.find(':');
        bool ok = colon != std::string::npos && valid_field_name(f.substr(0, colon)) && f.size() <= 998;
        for (char c : f)
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || static_cast<unsigned char>(c) >= 0x7f) ok = false;
        if (!ok) {
            ctx.error(line_of(n), path, "\"" + util::display_escape(f) + "\" is not a header field",
                      "\"X-Name: value\", printable ASCII on one line");
            return std::nullopt;
        }
    }
    return items;
}

// "local@domain" for redirect and bcc: a dot-atom local part and a domain name.
bool valid_rule_mailbox(std::string_view a) {
    std::size_t at = a.rfind('@');
    if (at == std::string_view::npos || at == 0 || at > 64) return false;
    std::string_view local = a.substr(0, at);
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
    for (char c : local)
        if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) == std::string_view::npos)
            return false;
    return valid_domain_name(util::ascii_lower(a.substr(at + 1)));
}

std::optional<std::vector<std::string>> read_rule_mailboxes(const toml::node& n, Ctx& ctx, const std::string& path) {
    auto items = read_strings(n, ctx, path);
    if (!items) return std::nullopt;
    if (items->empty()) {
        ctx.error(line_of(n), path, "empty list", "at least one address, or leave the key out");
        return std::nullopt;
    }
    for (const std::string& a : *items)
        if (!valid_rule_mailbox(a)) {
            ctx.error(line_of(n), path, "\"" + util::display_escape(a) + "\" is not an address", "\"archive@example.test\"");
            return std::nullopt;
        }
    return items;
}

const Field<RuleHeaderCondition> kRuleHeaderContains[] = {
    {"name", "string", "(required)", "The header field, case-insensitive; every field of that name is looked at, its value unfolded and RFC 2047 words decoded.",
     SET(if (auto v = read_string(n, ctx, path)) {
         if (valid_field_name(*v)) t.name = *v;
         else ctx.error(line_of(n), path, "\"" + util::display_escape(*v) + "\" is not a header field name", "e.g. \"Subject\"");
     })},
    {"words", "list of strings", "(required)", "Words or phrases; the condition holds if the value contains any of them (case-insensitive).",
     SET(if (auto v = read_words(n, ctx, path)) t.words = *v)},
};

const Field<RuleHeaderCondition> kRuleHeaderMatches[] = {
    {"name", "string", "(required)", "The header field, case-insensitive, as in header_contains.",
     SET(if (auto v = read_string(n, ctx, path)) {
         if (valid_field_name(*v)) t.name = *v;
         else ctx.error(line_of(n), path, "\"" + util::display_escape(*v) + "\" is not a header field name", "e.g. \"X-Mailer\"");
     })},
    {"pattern", "glob", "(required)", "A glob (`*` any run, `?` one character, case-insensitive; no regular expressions: linear time on hostile input) matched against the whole decoded value, e.g. \"*PHPMailer*\".",
     SET(if (auto v = read_string(n, ctx, path)) {
         if (!v->empty() && v->size() <= 200) t.pattern = *v;
         else ctx.error(line_of(n), path, "the pattern is empty or longer than 200 characters", "e.g. \"*PHPMailer*\"");
     })},
};

const Field<RuleReject> kRuleReject[] = {
    {"code", "count", "550", "The reply code, 4xx (the client retries) or 5xx.",
     SET(if (auto v = read_count(n, ctx, path, 400, 599)) t.code = static_cast<int>(*v))},
    {"status", "string", "\"5.7.1\"", "The enhanced status code (RFC 3463), its class matching the code: \"5.7.1\", \"4.7.0\".",
     SET(if (auto v = read_string(n, ctx, path)) t.status = *v)},
    {"text", "string", "\"message refused by policy\"", "The reply text the client reads: printable ASCII, at most 200 characters.",
     SET(if (auto v = read_string(n, ctx, path)) t.text = *v)},
};

template <class T, std::size_t N>
void apply_subtable(std::optional<T>& out, const Field<T> (&fields)[N], const toml::node& n, Ctx& ctx, const std::string& path,
                    std::initializer_list<std::string_view> required) {
    T value;
    value.line = line_of(n);
    if (const toml::table* t = n.as_table())
        for (std::string_view r : required) require(value, fields, *t, r, ctx, path);
    apply_table(value, fields, n, ctx, path);
    out = std::move(value);
}

const Field<TransportRule> kTransportRule[] = {
    {"name", "string", "(required)", "The rule's name, unique: in logs, verdicts (rule transport_rules.NAME), quarantine records and `rampart explain`.",
     SET(if (auto v = read_string(n, ctx, path)) t.name = *v)},
    {"from", "list of addresses", "any", "Condition: the sender (MAIL FROM) is one of these: \"a@x.test\", \"x.test\" or \"*.x.test\" (as [sender_filter] block). The null sender matches none.",
     SET(if (auto v = read_address_patterns(n, ctx, path)) t.from = *v)},
    {"to", "list of addresses", "any", "Condition: any recipient is one of these (same forms).",
     SET(if (auto v = read_address_patterns(n, ctx, path)) t.to = *v)},
    {"from_scope", "string", "any", "Condition: inside | outside. inside: the session is authenticated (a user or an organisation server) and the sender's domain is an accepted domain ([[domains]]); everything else, an unauthenticated claim of our own domain and the null sender included, is outside.",
     SET(if (auto v = read_enum(n, ctx, path, kRuleScopes)) t.from_scope = *v)},
    {"to_scope", "string", "any", "Condition: inside | outside: any recipient's domain is (inside) or is not (outside) an accepted domain.",
     SET(if (auto v = read_enum(n, ctx, path, kRuleScopes)) t.to_scope = *v)},
    {"header_contains", "table", "none", "Condition: { name = \"Subject\", words = [\"invoice\"] }: a field of that name contains any of the words (case-insensitive, decoded).",
     SET(apply_subtable(t.header_contains, kRuleHeaderContains, n, ctx, path, {"name", "words"}))},
    {"header_matches", "table", "none", "Condition: { name = \"X-Mailer\", pattern = \"*PHPMailer*\" }: a field of that name matches the glob.",
     SET(apply_subtable(t.header_matches, kRuleHeaderMatches, n, ctx, path, {"name", "pattern"}))},
    {"subject_contains", "list of strings", "any", "Condition: the Subject (decoded) contains any of these (case-insensitive).",
     SET(if (auto v = read_words(n, ctx, path)) t.subject_contains = *v)},
    {"body_contains", "list of strings", "any", "Condition: a text part that is not an attachment (text/plain, text/html; decoded, converted to UTF-8; the first 1 MiB of each, 4 MiB in all) contains any of these (case-insensitive).",
     SET(if (auto v = read_words(n, ctx, path)) t.body_contains = *v)},
    {"attachment_name", "list of globs", "any", "Condition: an attachment's file name matches (the attachment filter's matching: case-insensitive globs, decoded names, trailing dots ignored, zip members too).",
     SET(if (auto v = read_words(n, ctx, path)) t.attachment_name = *v)},
    {"attachment_type", "list of globs", "any", "Condition: a part's declared or sniffed type (zip members: sniffed) matches, as [attachment_filter] types.",
     SET(if (auto v = read_words(n, ctx, path)) {
         t.attachment_type.clear();
         for (const std::string& ty : *v) t.attachment_type.push_back(util::ascii_lower(ty));
     })},
    {"size_over", "size", "any", "Condition: the message is larger than this, e.g. \"10MiB\".",
     SET(if (auto v = read_size(n, ctx, path)) t.size_over = *v)},
    {"scl_at_least", "SCL 0-9", "any", "Condition: the X-Rampart-SCL stamp the content filter set is at least this (needs [content_filter], which removes forged stamps; a message without a stamp does not match).",
     SET(if (auto v = read_count(n, ctx, path, 0, 9)) t.scl_at_least = static_cast<int>(*v))},
    {"prepend_subject", "string", "none", "Action 1: this text is put before the Subject (once: not if the subject starts with it already; non-ASCII text as an RFC 2047 word; no Subject: one is added).",
     SET(if (auto v = read_string(n, ctx, path)) {
         bool ok = !v->empty() && v->size() <= 200;
         for (char c : *v)
             if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ok = false;
         if (ok) t.prepend_subject = *v;
         else ctx.error(line_of(n), path, "empty, longer than 200 characters, or with control characters", "e.g. \"[EXTERNAL] \"");
     })},
    {"add_header", "list of fields", "[]", "Action 2: header fields added, \"X-Name: value\" (printable ASCII).",
     SET(if (auto v = read_header_fields(n, ctx, path)) t.add_header = *v)},
    {"set_header", "list of fields", "[]", "Action 3: header fields set: every field of the name is removed, then this one added.",
     SET(if (auto v = read_header_fields(n, ctx, path)) t.set_header = *v)},
    {"remove_header", "list of names", "[]", "Action 4: every field of these names is removed.",
     SET(if (auto v = read_field_names(n, ctx, path)) t.remove_header = *v)},
    {"set_scl", "SCL 0-9", "none", "Action 5: the X-Rampart-SCL stamp is set to this (later rules' scl_at_least see it).",
     SET(if (auto v = read_count(n, ctx, path, 0, 9)) t.set_scl = static_cast<int>(*v))},
    {"redirect", "list of addresses", "none", "Action 6: the message goes to these addresses instead of its recipients (envelope; headers unchanged).",
     SET(if (auto v = read_rule_mailboxes(n, ctx, path)) t.redirect = *v)},
    {"bcc", "list of addresses", "none", "Action 7: these addresses get a copy too (envelope recipients added; headers unchanged).",
     SET(if (auto v = read_rule_mailboxes(n, ctx, path)) t.bcc = *v)},
    {"quarantine", "bool", "false", "Action 8: the message is held in the quarantine (250 to the client; the record names the rule); later rules still run and a later reject wins.",
     SET(if (auto v = read_bool(n, ctx, path)) t.quarantine = *v)},
    {"reject", "table", "none", "Action 9: { code = 550, status = \"5.7.1\", text = \"...\" }: the message is refused with this reply; no later rule runs. Not with other actions.",
     SET(apply_subtable(t.reject, kRuleReject, n, ctx, path, {}))},
    {"drop", "bool", "false", "Action 10: 250 to the client, nothing delivered (logged); no later rule runs. Not with other actions.",
     SET(if (auto v = read_bool(n, ctx, path)) t.drop = *v)},
    {"stop", "bool", "false", "Action 11: after this rule's actions, no later rule is checked.",
     SET(if (auto v = read_bool(n, ctx, path)) t.stop = *v)},
};

// Whole-rule checks: an action, no conflicting actions, a sound reject reply, unique names.
void check_transport_rules(const Config& c, Ctx& ctx) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < c.transport_rules.size(); ++i) {
        const TransportRule& r = c.transport_rules[i];
        std::string key = "transport_rules[" + std::to_string(i) + "]";
        if (!r.name.empty() && !names.insert(r.name).second)
            ctx.error(r.line, key + ".name", "duplicate rule name \"" + r.name + "\"", "give each rule its own name");
        bool edits = !r.prepend_subject.empty() || !r.add_header.empty() || !r.set_header.empty() || !r.remove_header.empty() ||
                     r.set_scl || !r.redirect.empty() || !r.bcc.empty() || r.quarantine;
        if (!edits && !r.reject && !r.drop && !r.stop)
            ctx.error(r.line, key, "rule \"" + r.name + "\" has no action",
                      "add one of prepend_subject, add_header, set_header, remove_header, set_scl, redirect, bcc, quarantine, reject, drop, stop");
        if (r.reject && r.drop) ctx.error(r.line, key + ".reject", "reject and drop conflict", "keep one of them");
        else if ((r.reject || r.drop) && edits)
            ctx.error(r.line, key + (r.reject ? ".reject" : ".drop"),
                      std::string(r.reject ? "reject" : "drop") + " ends the message: it cannot be combined with other actions",
                      "remove the other actions, or make them a separate rule before this one");
        if (r.reject) {
            const RuleReject& j = *r.reject;
            const std::string& s = j.status;
            bool status_ok = s.size() >= 5 && s.size() <= 9 && s[0] - '0' == j.code / 100 && s[1] == '.';
            std::size_t second = s.find('.', 2);
            if (status_ok && second != std::string::npos) {
                auto digits = [](std::string_view d, std::size_t max) {
                    return !d.empty() && d.size() <= max && std::all_of(d.begin(), d.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
                };
                status_ok = digits(std::string_view(s).substr(2, second - 2), 3) && digits(std::string_view(s).substr(second + 1), 3);
            } else {
                status_ok = false;
            }
            if (!status_ok)
                ctx.error(j.line, key + ".reject.status", "\"" + util::display_escape(s) + "\" is not an enhanced status code of class " + std::to_string(j.code / 100),
                          "e.g. \"" + std::to_string(j.code / 100) + ".7.1\"");
            bool text_ok = !j.text.empty() && j.text.size() <= 200 &&
                           std::all_of(j.text.begin(), j.text.end(), [](char ch) { return ch >= 0x20 && ch < 0x7f; });
            if (!text_ok) ctx.error(j.line, key + ".reject.text", "the text is empty, longer than 200 characters or not printable ASCII", "e.g. \"message refused by policy\"");
        }
        if (r.scl_at_least && !c.content_filter.configured)
            ctx.error(r.line, key + ".scl_at_least", "needs [content_filter]: without it an X-Rampart-SCL header comes from the sender and cannot be trusted",
                      "add [content_filter] (engine = \"none\" only removes forged stamps), or remove scl_at_least");
    }
}

#undef SET

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

// The preset a [[listeners]] entry starts from: its `preset` kind, else the kind of the
// role's default listener of the same name. A bad `preset` is reported when applied.
Listener listener_preset(Role role, const toml::node& item) {
    ListenerKind kind = ListenerKind::Smtp;
    if (const toml::table* t = item.as_table()) {
        std::string name = t->contains("name") ? (*t)["name"].value_or(std::string()) : std::string();
        kind = default_kind(role, name);
        if (auto p = (*t)["preset"].value<std::string>())
            for (const auto& [k, v] : kListenerKinds)
                if (k == *p) kind = v;
    }
    return preset_listener(role, kind);
}

}  // namespace

std::vector<std::string> AttachmentFilterSettings::preset_attachment_names() {
    return {"*.exe", "*.scr", "*.com", "*.pif", "*.bat", "*.cmd", "*.cpl", "*.dll", "*.msi", "*.msp", "*.mst",
            "*.msc", "*.js", "*.jse", "*.vbs", "*.vbe", "*.vb", "*.wsf", "*.wsh", "*.wsc", "*.ws", "*.sct",
            "*.hta", "*.ps1", "*.psm1", "*.psd1", "*.reg", "*.inf", "*.scf", "*.lnk", "*.url", "*.chm", "*.hlp",
            "*.jar", "*.application", "*.gadget", "*.appx", "*.msix", "*.appinstaller", "*.iso", "*.img",
            "*.vhd", "*.vhdx", "*.apk"};
}

std::vector<std::string> AttachmentFilterSettings::preset_attachment_types() {
    return {"application/x-dosexec", "application/x-msdownload", "application/x-msdos-program",
            "application/x-ms-installer", "application/x-msi", "application/x-executable",
            "application/x-sharedlib", "application/x-mach-binary", "application/x-ms-shortcut",
            "application/java-archive", "application/x-java-applet", "application/vnd.ms-htmlhelp",
            "application/vnd.android.package-archive", "application/hta", "application/javascript",
            "text/javascript", "application/x-iso9660-image"};
}

void apply_document(const toml::table& root, Config& c, Ctx& ctx) {
    // The role decides listener defaults, so read it first.
    if (const toml::node* server = root.get("server")) apply_table(c.server, kServer, *server, ctx, "server");
    for (const auto& [k, v] : root) {
        std::string key(k.str());
        if (key == "server") continue;
        if (key == "domains") apply_array(c.domains, kDomain, v, ctx, key, {"name"}, [](const toml::node&) { return Domain{}; });
        else if (key == "directory") apply_table(c.directory, kDirectory, v, ctx, key);
        else if (key == "tls") apply_table(c.tls, kTls, v, ctx, key);
        else if (key == "listeners")
            apply_array(c.listeners, kListener, v, ctx, key, {"name"}, [&](const toml::node& item) { return listener_preset(c.server.role, item); });
        else if (key == "send_connectors")
            apply_array(c.send_connectors, kSendConnector, v, ctx, key, {"name", "address_spaces"}, [](const toml::node&) { return SendConnector{}; });
        else if (key == "queue") apply_table(c.queue, kQueue, v, ctx, key);
        else if (key == "dns") apply_table(c.dns, kDns, v, ctx, key);
        else if (key == "kerberos") apply_table(c.kerberos, kKerberos, v, ctx, key);
        else if (key == "delivery") apply_table(c.delivery, kDelivery, v, ctx, key);
        else if (key == "connection_filter") {
            c.connection_filter.configured = true;
            c.connection_filter.line = line_of(v);
            apply_table(c.connection_filter, kConnectionFilter, v, ctx, key);
        } else if (key == "sender_filter") {
            c.sender_filter.configured = true;
            c.sender_filter.line = line_of(v);
            apply_table(c.sender_filter, kSenderFilter, v, ctx, key);
        } else if (key == "recipient_filter") {
            c.recipient_filter.configured = true;
            c.recipient_filter.line = line_of(v);
            apply_table(c.recipient_filter, kRecipientFilter, v, ctx, key);
        
        } else if (key == "sender_auth") {
            c.sender_auth.configured = true;
            c.sender_auth.line = line_of(v);
            apply_table(c.sender_auth, kSenderAuth, v, ctx, key);
        } else if (key == "attachment_filter") {
            c.attachment_filter.configured = true;
            c.attachment_filter.line = line_of(v);
            apply_table(c.attachment_filter, kAttachmentFilter, v, ctx, key);
        } else if (key == "antivirus") {
            c.antivirus.configured = true;
            c.antivirus.line = line_of(v);
            apply_table(c.antivirus, kAntivirus, v, ctx, key);
            if (const toml::table* t = v.as_table(); t && !t->contains("engines"))
                ctx.error(line_of(v), "antivirus.engines", "required key is missing", "add at least one [[antivirus.engines]]");
            std::set<std::string> engine_names;   // the verdict cache and the logs key on them
            for (AntivirusEngine& e : c.antivirus.engines) {
                if (!e.name.empty() && !engine_names.insert(e.name).second)
                    ctx.error(e.line, "antivirus.engines.name", "duplicate engine name \"" + e.name + "\"", "give each engine its own name");
                if (e.type != "icap" && (!e.service.empty() || e.reqmod || e.preview))
                    ctx.error(e.line, "antivirus.engines", "service, method and preview are for type = \"icap\" only", "remove them from engine \"" + e.name + "\"");
                if (e.type == "icap" && e.service.empty()) e.service = "avscan";
            }
        } else if (key == "content_filter") {
            c.content_filter.configured = true;
            c.content_filter.line = line_of(v);
            apply_table(c.content_filter, kContentFilter, v, ctx, key);
        } else if (key == "milters") {
            apply_array(c.milters, kMilter, v, ctx, key, {"name", "address"}, [](const toml::node& item) {
                MilterSettings m;
                m.line = line_of(item);
                return m;
            });
            std::set<std::string> milter_names;   // agents and log lines are named after them
            for (const MilterSettings& m : c.milters)
                if (!m.name.empty() && !milter_names.insert(m.name).second)
                    ctx.error(m.line, "milters.name", "duplicate milter name \"" + m.name + "\"", "give each milter its own name");
        } else if (key == "transport_rules") {
            apply_array(c.transport_rules, kTransportRule, v, ctx, key, {"name"}, [](const toml::node&) { return TransportRule{}; });
        } else if (key == "quarantine") apply_table(c.quarantine, kQuarantine, v, ctx, key);
        else if (key == "tracking") apply_table(c.tracking, kTracking, v, ctx, key);
        else if (key == "hub") apply_table(c.hub, kHub, v, ctx, key);
        else if (key == "back_pressure") {
            c.back_pressure.line = line_of(v);
            apply_table(c.back_pressure, kBackPressure, v, ctx, key);
            const BackPressureSettings& b = c.back_pressure;
            auto ordered = [](double a, double b2) { return a == 0 || b2 == 0 || a <= b2; };
            if (!ordered(b.disk_free_refuse_all, b.disk_free_refuse) || !ordered(b.disk_free_refuse, b.disk_free_tarpit) ||
                !ordered(b.disk_free_refuse_all, b.disk_free_tarpit))
                ctx.error(line_of(v), "back_pressure.disk_free_refuse", "disk watermarks out of order",
                          "disk_free_refuse_all <= disk_free_refuse <= disk_free_tarpit (0: off)");
            auto ordered_q = [](std::uint64_t a, std::uint64_t b2) { return a == 0 || b2 == 0 || a <= b2; };
            if (!ordered_q(b.queue_tarpit, b.queue_refuse) || !ordered_q(b.queue_refuse, b.queue_refuse_all) ||
                !ordered_q(b.queue_tarpit, b.queue_refuse_all))
                ctx.error(line_of(v), "back_pressure.queue_refuse", "queue watermarks out of order",
                          "queue_tarpit <= queue_refuse <= queue_refuse_all (0: off)");
        } else if (key == "edge") {
            c.edge.line = line_of(v);
            apply_table(c.edge, kEdge, v, ctx, key);
        } else if (key == "reputation") {
            c.reputation.line = line_of(v);
            apply_table(c.reputation, kReputation, v, ctx, key);
        }
        else if (key == "admin") {
            c.admin.line = line_of(v);
            apply_table(c.admin, kAdmin, v, ctx, key);
            check_admin(c.admin, ctx);
        }
        else ctx.error(line_of(v), key, "unknown section", "known sections: server, domains, directory, tls, listeners, send_connectors, queue, dns, kerberos, delivery, connection_filter, sender_filter, recipient_filter, sender_auth, content_filter, attachment_filter, antivirus, milters, transport_rules, back_pressure, reputation, quarantine, admin, tracking, edge, hub");
    }
    check_transport_rules(c, ctx);
}

std::string settings_reference() {
    std::string out;
    reference_section(out, "[server]", "", kServer);
    reference_section(out, "[[domains]]", "One table per accepted domain.", kDomain);
    reference_section(out, "[directory]", "", kDirectory);
    reference_section(out, "[tls]", "Certificate used by every listener that offers TLS.", kTls);
    reference_section(out, "[[listeners]]", "One table per receive endpoint. Keys left out take the role's preset for the listener's kind; without any [[listeners]] the role's default listeners run.", kListener);
    reference_section(out, "[listeners.auth]", "", kAuth);
    reference_section(out, "[listeners.relay]", "", kRelay);
    reference_section(out, "[listeners.permissions]", "", kPermissions);
    reference_section(out, "[listeners.limits]", "", kLimits);
    reference_section(out, "[[send_connectors]]", "Outbound routes, chosen by recipient domain.", kSendConnector);
    reference_section(out, "[queue]", "", kQueue);
    reference_section(out, "[dns]", "Name resolution for send connectors with route = \"mx\".", kDns);
    reference_section(out, "[kerberos]", "SASL GSSAPI (RFC 4752) for listeners with auth.integrated; see README \"Kerberos\".", kKerberos);
    reference_section(out, "[delivery]", "Local delivery for authoritative domains, and the timeouts of every outbound SMTP and LMTP connection (replies from a next hop are also capped at 256 lines, 64 KiB and 2048 bytes per line).", kDelivery);
    reference_section(out, "[connection_filter]", "Filter chain, first agent: client addresses checked at connect, before the greeting and before a TLS handshake, on listeners with `filters = true`: allow, block, the dynamic block list (`rampart block`), then the DNS lists. Allow wins over block. See \"Connection filter and DNS lists\" above.", kConnectionFilter);
    reference_section(out, "[[connection_filter.block_providers]]", "One table per DNS block list, asked in order.", kBlockProvider);
    reference_section(out, "[[connection_filter.allow_providers]]", "One table per DNS allow list.", kAllowProvider);
    reference_section(out, "[sender_filter]", "Filter chain, anti-spam agent at MAIL FROM on listeners with `filters = true` (skipped for authenticated users and organisation servers).", kSenderFilter);
    reference_section(out, "[recipient_filter]", "Filter chain, anti-spam agent at RCPT TO on listeners with `filters = true` (skipped for authenticated users and organisation servers).", kRecipientFilter);
    reference_section(out, "[sender_auth]", "Filter chain, anti-spam agent for sender authentication (after the recipient filter): SPF at RCPT TO, DKIM verification and DMARC at end of data, and an Authentication-Results header on every message, on listeners with `filters = true` (skipped for authenticated users and organisation servers). See \"Sender authentication\" above.", kSenderAuth);
    reference_section(out, "[content_filter]", "Filter chain, end of data: the message is checked by rspamd and its score mapped to a spam confidence level (SCL, see \"Content filter\" above), on listeners with `filters = true`; not for authenticated users, and organisation servers' stamps are trusted instead.", kContentFilter);
    reference_section(out, "[attachment_filter]", "Filter chain, end of data: attachments checked by file name, declared and sniffed type, inside message/rfc822 parts and zip archives, on listeners with `filters = true`, authenticated users included. See \"Attachment filter\" above for the preset lists.", kAttachmentFilter);
    reference_section(out, "[antivirus]", "Filter chain, antivirus agent (end of data, on listeners with `filters = true`, also for authenticated users): every engine scans the message concurrently and all must say clean.", kAntivirus);
    reference_section(out, "[[antivirus.engines]]", "One table per engine.", kAntivirusEngine);
    reference_section(out, "[[milters]]", "Filter chain, one agent per table after antivirus (on listeners with `filters = true`, also for authenticated users, as Postfix's smtpd_milters): any milter speaking the libmilter protocol (version 6) sees connect, HELO, MAIL FROM, each RCPT TO and the message. See \"Milters\" above.", kMilter);
    reference_section(out, "[[transport_rules]]", "Filter chain, end of data, after antivirus, on listeners with `filters = true`, for all mail (authenticated users and organisation servers too): ordered rules, each with conditions (every one given must hold; none given: every message) and actions. See \"Transport rules\" above.", kTransportRule);
    reference_section(out, "[transport_rules.header_contains]", "", kRuleHeaderContains);
    reference_section(out, "[transport_rules.header_matches]", "", kRuleHeaderMatches);
    reference_section(out, "[transport_rules.reject]", "", kRuleReject);
    reference_section(out, "[quarantine]", "Messages a filter agent quarantined: kept in the spool, never delivered until released (`rampart quarantine`).", kQuarantine);
    reference_section(out, "[back_pressure]", "Spool disk and queue watermarks: MAIL FROM slowed, then refused with 452 4.3.1, anonymous clients first; accepting resumes by itself. On in every role. See \"Back pressure\" above.", kBackPressure);
    reference_section(out, "[tracking]", "Message tracking: one store per server under data_dir, read by `rampart track` (see docs/architecture.md \"Message tracking\").", kTracking);
    reference_section(out, "[reputation]", "Per client address reputation level 0..9 from what sessions on listeners with `filters = true` saw; a high level blocks the address for a while. See \"Reputation\" above.", kReputation);
    reference_section(out, "[admin]", "The admin listener: GET /metrics (Prometheus text format, docs/metrics.md) and the web console at /console (docs/console.md), on whenever the listener is. Loopback by default; bound elsewhere it needs TLS and a token. If its address is taken the server logs admin.unavailable and goes on serving mail.", kAdmin);
    reference_section(out, "[edge]", "Role edge: the subscription to a hub (docs/perimeter.md) and replication from it (docs/architecture.md \"Replication\").", kEdge);
    reference_section(out, "[hub]", "Role hub: replication to the subscribed edges (docs/architecture.md \"Replication\").", kHub);
    return out;
}

}  // namespace rampart::config
