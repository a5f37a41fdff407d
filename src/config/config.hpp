// config/config.hpp — the loaded configuration as plain values (DESIGN.md §10).
// Contract: a Config that load() returned has passed every check; the rest of the program
// never re-validates it. Defaults live in the member initialisers below and in the role
// presets (config/roles.cpp); config/settings.cpp documents each key once.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include "net/cidr.hpp"

namespace rampart::config {

using std::chrono::milliseconds;

enum class Role { Gateway, Mailbox, Frontend, AllInOne, Edge, Hub };
enum class DomainType { Authoritative, InternalRelay, ExternalRelay };
enum class TlsMode { None, StartTls, Implicit };
enum class RelayMode { OnlyList, AllExceptList };
// What a listener is for (its preset within the role, DESIGN.md §4): "smtp" takes mail
// on port-25 terms (servers, applications, devices), "submission" takes mail from users
// who authenticate (RFC 6409, port-587 terms). The perimeter's inside links (docs/perimeter.md):
// "from-hub" is the edge's listener for its hub, "from-edge" the hub's for its subscribed
// edges — organisation servers only, by certificate, allowed to relay, no filter chain.
enum class ListenerKind { Smtp, Submission, FromHub, FromEdge };
enum class Route { Mx, Smarthost };
enum class OutboundTls { None, Opportunistic, Required, Verify };
enum class LocalDelivery { Maildir, Lmtp };

struct Endpoint {
    std::string host;   // numeric address: "127.0.0.1", "::1"
    std::uint16_t port = 0;
    std::string text() const;
};

struct ServerSettings {
    Role role = Role::AllInOne;
    std::string hostname = "localhost";
    std::filesystem::path data_dir = "var";
    std::uint32_t threads = 0;          // 0: one per CPU
    std::string log_file;               // empty: standard error
    std::string log_level = "info";
    std::uint64_t max_open_files = 0;   // 0: keep the hard limit rampart was started with
    // Privilege drop (server/privileges.hpp): started as root, `serve` runs as `user` once
    // its sockets and files are open, unless run_as_root.
    std::string user = "rampart";
    bool run_as_root = false;
    // The listener whose policy governs `rampart sendmail` (data_dir/submit.sock); empty: off.
    std::string local_submission = "submission";
    int local_submission_line = 0;      // set explicitly (then the listener must exist)
};

struct Domain {
    std::string name;                   // lower-case, no trailing dot
    DomainType type = DomainType::Authoritative;
    int line = 0;                       // where it was declared (for messages)
};

struct DirectorySettings {
    std::string backend = "file";
    std::filesystem::path file = "directory.toml";
    // backend = "ldap" (directory/ldap_directory.hpp)
    std::string ldap_uri;
    bool ldap_starttls = false;
    std::filesystem::path ldap_ca_file;
    std::string ldap_bind_dn;
    std::filesystem::path ldap_bind_password_file;
    std::string ldap_base_dn;
    std::string ldap_user_filter = "(objectClass=inetOrgPerson)";
    std::string ldap_user_attribute = "uid";
    std::vector<std::string> ldap_address_attributes = {"mail"};
    std::string ldap_kerberos_attribute;
    std::string ldap_safe_senders_attribute;
    std::string ldap_group_filter = "(objectClass=groupOfNames)";
    std::string ldap_group_attribute = "cn";
    std::string ldap_member_attribute = "member";
    std::string ldap_send_as_any_group;
    milliseconds ldap_refresh_interval{std::chrono::minutes(5)};
    milliseconds ldap_timeout{std::chrono::seconds(10)};
};

struct TlsSettings {
    std::filesystem::path certificate;  // empty: a self-signed pair is made in data_dir/tls
    std::filesystem::path key;
    std::string min_version = "TLSv1.2";
};

struct AuthSettings {
    bool anonymous = true;
    bool basic = false;
    bool basic_requires_tls = true;
    bool integrated = false;
    bool server = false;
};

struct RelaySettings {
    RelayMode mode = RelayMode::OnlyList;
    std::vector<net::Cidr> list;
    bool allow_authenticated = false;
    bool force_open_relay = false;      // accept a relay rule that admits any address (dangerous)
};

struct Permissions {
    std::vector<std::string> submit;    // "user:NAME", "group:NAME", "authenticated"
    std::vector<std::string> relay;
};

struct ListenerLimits {
    std::uint64_t max_message_size = 35ull << 20;
    std::uint32_t max_recipients = 100;
    std::uint32_t max_connections = 1000;
    std::uint32_t max_connections_per_source = 50;
    std::uint32_t max_errors = 10;
    std::uint32_t max_received_headers = 50;
    std::uint32_t max_line_length = 998;       // message lines, without CRLF (RFC 5321 §4.5.3.1.6)
    std::uint32_t max_command_length = 2048;   // command lines with ESMTP parameters
    milliseconds command_timeout{std::chrono::minutes(5)};   // §4.5.3.2.7
    milliseconds data_timeout{std::chrono::minutes(10)};     // whole DATA/BDAT phase
    // Brakes on stolen logins (DESIGN.md §3.7); policy/brakes.cpp keeps the counters.
    milliseconds auth_failure_delay{std::chrono::seconds(1)};       // first failure; doubles, 0: off
    milliseconds auth_failure_delay_max{std::chrono::seconds(5)};
    std::uint32_t auth_lockout_failures = 5;                          // 0: no lockout
    milliseconds auth_lockout_window{std::chrono::minutes(10)};
    std::uint32_t max_messages_per_hour = 500;                        // per user; 0: no limit
    std::uint32_t max_recipients_per_hour = 2000;                     // per user; 0: no limit
};

struct Listener {
    std::string name;
    ListenerKind preset = ListenerKind::Smtp;
    std::vector<Endpoint> bind;
    TlsMode tls = TlsMode::StartTls;
    std::vector<net::Cidr> remote_ranges;     // empty after load means "any"
    // Reachable from the Internet: anonymous clients may not claim an authoritative sender
    // (DESIGN.md §3.6). Unset: load() derives it from remote_ranges (any public address).
    std::optional<bool> internet_facing;
    AuthSettings auth;
    RelaySettings relay;
    Permissions permissions;
    ListenerLimits limits;
    // The edge filter chain (DESIGN.md §5) runs for this listener's sessions. Preset: on
    // for the gateway's and the edge's port-25 listeners.
    bool filters = false;
    // Refuse message content an unauthenticated client sends before our 354 (the SMTP
    // smuggling pattern; Postfix's smtpd_forbid_unauth_pipelining). On in every preset.
    bool forbid_unauth_pipelining = true;
    // The hub's from-edge listener (docs/perimeter.md): only edges subscribed with `rampart
    // hub add-edge` (data_dir/hub/edges) get in — their address at connect, their pinned
    // certificate right after STARTTLS, nothing but EHLO/STARTTLS before. Preset: on for
    // the hub's from-edge listener.
    bool subscribed_edges_only = false;
    int line = 0;                             // where it was declared (for messages)
};

struct SendConnector {
    std::string name;
    std::vector<std::string> address_spaces;  // "*", "example.test", "*.example.test"
    Route route = Route::Mx;
    std::vector<Endpoint> smarthosts;
    OutboundTls tls = OutboundTls::Opportunistic;
    std::uint32_t max_connections = 20;       // per destination
    std::uint16_t mx_port = 25;
    std::filesystem::path tls_ca_file;        // CA certificates for tls = "verify"; empty: system store
    std::filesystem::path certificate;        // client certificate presented (SASL EXTERNAL); empty: none
    std::filesystem::path key;
    std::string auth_user;                    // smart-host SASL PLAIN/LOGIN, over TLS only
    std::filesystem::path auth_password_file;
    // route = "mx": connect to loopback, private, link-local, CGNAT, ULA, multicast or
    // unspecified addresses when DNS or an address-literal recipient names them. Off: such
    // destinations are refused (delivery/destination_policy.hpp).
    bool allow_private_destinations = false;
    // SHA-256 fingerprints the next hop's certificate must match (pinning; with tls =
    // "required"). The hub's implicit connector to its edges pins the edges' certificates.
    std::vector<std::string> tls_fingerprints;
    bool implicit = false;                    // built from data_dir/hub/edges, not the file
    int line = 0;
};

struct QueueSettings {
    milliseconds retry_interval{std::chrono::minutes(5)};      // first delay after a deferral
    milliseconds max_retry_interval{std::chrono::hours(1)};    // the delay never grows beyond this
    double retry_backoff = 2.0;                                // each delay = previous × this
    milliseconds max_lifetime{std::chrono::hours(24 * 5)};     // then deferred recipients bounce
    milliseconds delay_warning{std::chrono::hours(4)};         // delay notice after this (once)
    std::uint32_t delivery_concurrency = 100;
    std::uint32_t destination_concurrency = 50;                // of those, at most this many per destination
    // Attempts for messages whose pending recipients are all local (Maildir, LMTP), on top
    // of delivery_concurrency: local mail never waits behind remote attempts.
    std::uint32_t local_delivery_concurrency = 20;
};

// How mail for authoritative domains is stored (docs/architecture.md "Local delivery").
struct DeliverySettings {
    LocalDelivery local = LocalDelivery::Maildir;
    std::map<std::string, LocalDelivery> per_domain;   // lower-case domain → method
    Endpoint lmtp;                            // host empty: unset; host "/…": unix socket
    std::uint32_t lmtp_max_connections = 10;
    // Every outbound SMTP/LMTP connection (delivery/client.hpp): RFC 5321 §4.5.3.2 reply timeouts,
    // a deadline for a whole delivery attempt, and how long a connection may wait for reuse.
    milliseconds connect_timeout{std::chrono::seconds(30)};
    milliseconds greeting_timeout{std::chrono::minutes(5)};
    milliseconds command_timeout{std::chrono::minutes(5)};
    milliseconds data_init_timeout{std::chrono::minutes(2)};
    milliseconds data_block_timeout{std::chrono::minutes(3)};
    milliseconds data_done_timeout{std::chrono::minutes(10)};
    milliseconds attempt_timeout{std::chrono::minutes(30)};
    milliseconds idle_connection_timeout{std::chrono::seconds(10)};

    LocalDelivery method_for(const std::string& domain) const {
        auto it = per_domain.find(domain);
        return it == per_domain.end() ? local : it->second;
    }
};

struct DnsSettings {
    std::vector<Endpoint> servers;            // IPv4 only; empty: /etc/resolv.conf
    milliseconds timeout{std::chrono::seconds(5)};   // per query and server
    std::size_t cache_entries = 10000;        // the shared resolver's answer cache; 0: none
};

struct KerberosSettings {
    std::filesystem::path keytab;             // empty: integrated authentication is unusable
    std::string service = "smtp";             // acceptor principal service/server.hostname
    std::string realm;                        // non-empty: NAME@realm maps to directory user NAME
};

// [[connection_filter.block_providers]] / [[connection_filter.allow_providers]]: a DNS
// list (RFC 5782) asked for the client's address.
struct DnsListProvider {
    std::string zone;                         // "bl.example.test", lower-case, no trailing dot
    std::vector<net::Cidr> match;             // block lists: answers that count; empty: any 127.0.0.0/8
    int line = 0;
};
// When a client listed by a block provider is refused: at its first RCPT (Exchange's
// default, the sender learns who refused it) or at connect, before the greeting.
enum class RefuseAt { Rcpt, Connect };

// [connection_filter]: the connect-time agent (DESIGN.md §11). Allow wins over block.
struct ConnectionFilterSettings {
    std::vector<net::Cidr> allow;             // never refused by this agent
    std::vector<net::Cidr> block;             // 550 5.7.1 instead of the greeting
    std::vector<DnsListProvider> block_providers;   // asked in order; the first listing refuses
    std::vector<DnsListProvider> allow_providers;   // a listing skips the anti-spam agents
    RefuseAt refuse_at = RefuseAt::Rcpt;      // block_providers only (static and dynamic lists: connect)
    bool configured = false;                  // the table was present: the agent is in the chain
    int line = 0;
};

// [sender_filter]: the MAIL FROM agent (DESIGN.md §11). Entries of `block`: an address
// ("spammer@bad.test"), a domain ("bad.test") or its subdomains ("*.bad.test"), kept as
// written (the agent folds them: filter/address_list.hpp).
enum class SenderFilterAction { Reject, Stamp };
struct SenderFilterSettings {
    std::vector<std::string> block;
    bool block_blank_sender = false;          // MAIL FROM:<> counts as blocked
    SenderFilterAction action = SenderFilterAction::Reject;   // 554 5.7.1, or a header at end of data
    bool configured = false;
    int line = 0;
};

// [recipient_filter]: the RCPT TO agent (DESIGN.md §11): a block list (same entry forms as
// [sender_filter]) and the tarpit on unknown recipients of authoritative domains.
struct RecipientFilterSettings {
    std::vector<std::string> block;
    bool lookup = true;                       // unknown recipients of authoritative domains: 550 5.1.1
    milliseconds tarpit{std::chrono::seconds(5)};   // wait before each refusal; 0: none
    bool configured = false;
    int line = 0;
};

// [sender_auth]: sender authentication (DESIGN.md §5, §11): SPF (RFC 7208) at MAIL FROM and
// an Authentication-Results header (RFC 8601) at end of data; what each result gets.
// Reject: 550 5.7.23 (fail, softfail) or 550 5.7.24 (permerror); Tempfail: 451 4.7.24
// (temperror); Stamp: accepted with X-Rampart-Sender-Auth; Accept: accepted, the result only
// in Authentication-Results.
enum class SpfAction { Reject, Tempfail, Stamp, Accept };
// DMARC (RFC 7489) at end of data, after DKIM (RFC 6376) verification: dmarc_reject and
// dmarc_quarantine say what a failure gets when the From domain publishes p=reject or
// p=quarantine (Reject: 550 5.7.1; Quarantine: the chain's quarantine); dmarc_temperror what
// a DMARC record lookup failure gets (Tempfail: 451 4.7.1).
enum class DmarcAction { Reject, Quarantine, Stamp, Accept };
struct SenderAuthSettings {
    SpfAction spf_fail = SpfAction::Reject;
    SpfAction spf_softfail = SpfAction::Stamp;
    SpfAction spf_temperror = SpfAction::Tempfail;
    SpfAction spf_permerror = SpfAction::Stamp;
    DmarcAction dmarc_reject = DmarcAction::Reject;
    DmarcAction dmarc_quarantine = DmarcAction::Quarantine;
    SpfAction dmarc_temperror = SpfAction::Tempfail;         // Tempfail, Stamp or Accept
    std::string public_suffix_list = "/usr/share/publicsuffix/public_suffix_list.dat";   // relative: to the configuration file
    bool configured = false;                  // the table was present: the agent is in the chain
    int line = 0;
};

// [attachment_filter]: the end-of-data hygiene agent (DESIGN.md §11, issue 10). Parts and
// zip members are matched by file name (globs), by declared and by sniffed type.
enum class AttachmentAction { Strip, Reject, SilentDelete };
enum class UnreadableArchives { Block, Allow };
struct AttachmentFilterSettings {
    AttachmentAction action = AttachmentAction::Strip;
    std::vector<std::string> names = preset_attachment_names();   // globs, case-insensitive
    std::vector<std::string> types = preset_attachment_types();   // "type/subtype" globs, declared and sniffed
    bool inspect_archives = true;             // zip members, nested, by name and sniffed type
    UnreadableArchives unreadable_archives = UnreadableArchives::Block;   // encrypted, too deep, bomb, corrupt
    bool configured = false;                  // the table was present: the agent is in the chain
    int line = 0;

    // The preset lists used when `names` / `types` are left out (docs/configuration.md
    // "Attachment filter" lists them; a unit test keeps the two in step).
    static std::vector<std::string> preset_attachment_names();
    static std::vector<std::string> preset_attachment_types();
};

// [antivirus]: the antivirus agent (DESIGN.md §11). Every engine is asked concurrently at end
// of data; the message is clean only when every engine says clean. An engine that is down,
// slow or answers garbage fails the message closed (451 4.7.1) unless on_error = "accept".
enum class OnInfected { Reject, Quarantine, Strip };
enum class OnEngineError { Tempfail, Accept };

struct AntivirusEngine {
    std::string name;                         // logs and replies: "clamav"
    std::string type = "clamd";               // "clamd", "icap" or "milter"
    Endpoint address;                         // TCP host:port, or host = socket path and port 0
    milliseconds timeout{std::chrono::seconds(30)};   // the whole scan: connect, send, reply
    std::string service;                      // icap: the service path ("" until loaded; default "avscan")
    bool reqmod = false;                      // icap: method = "reqmod" (default RESPMOD)
    bool preview = false;                     // icap: ask OPTIONS, send the Preview size it names first
    int line = 0;
};

struct AntivirusSettings {
    OnInfected on_infected = OnInfected::Reject;
    OnEngineError on_error = OnEngineError::Tempfail;
    std::vector<AntivirusEngine> engines;
    milliseconds cache_ttl{std::chrono::minutes(5)};   // verdict cache per message hash; 0: off
    std::size_t cache_entries = 10000;        // the cache's bound (oldest used evicted first)
    bool configured = false;                  // the table was present: the agent is in the chain
    int line = 0;
};

// [content_filter]: the content filter agent (DESIGN.md §11, issue 9): rspamd's score mapped
// to a spam confidence level (SCL 0..9, filter/scl.hpp) and the Exchange thresholds applied
// in the order delete_at, reject_at, quarantine_at (0: off).
enum class ContentEngine { Rspamd, None };
struct ContentFilterSettings {
    ContentEngine engine = ContentEngine::Rspamd;
    Endpoint address{"127.0.0.1", 11333};     // rspamd's normal worker (HTTP /checkv2)
    int reject_at = 7;                        // 550 5.7.1 at SCL >= reject_at
    int quarantine_at = 0;                    // held in the quarantine
    int delete_at = 0;                        // 250, nothing delivered, logged
    OnEngineError on_error = OnEngineError::Tempfail;
    milliseconds timeout{std::chrono::seconds(30)};   // the whole check: connect, send, reply
    bool configured = false;                  // the table was present: the agent is in the chain
    int line = 0;
};

// [[milters]]: an external milter (libmilter protocol version 6), an agent in the chain
// after antivirus; one connection per SMTP session.
struct MilterSettings {
    std::string name;                         // logs and `explain`: "dkim"
    Endpoint address;                         // TCP host:port, or host = socket path and port 0
    OnEngineError on_error = OnEngineError::Tempfail;
    milliseconds connect_timeout{std::chrono::seconds(10)};   // connect and option negotiation
    milliseconds command_timeout{std::chrono::seconds(30)};   // each reply to connect, HELO, MAIL, RCPT
    milliseconds content_timeout{std::chrono::seconds(300)};  // the message: headers, body, end of message
    int line = 0;
};

// [[transport_rules]]: ordered rules, conditions -> actions (DESIGN.md §5, §11, issue 10),
// run by filter/transport_rules at end of data after antivirus. Every condition given must
// hold (none given: every message); actions apply in the fixed order documented in
// docs/configuration.md "Transport rules".
enum class RuleScope { Inside, Outside };
struct RuleHeaderCondition {
    std::string name;                         // header field name, case-insensitive
    std::vector<std::string> words;           // header_contains: any of these, case-insensitive
    std::string pattern;                      // header_matches: a glob over the decoded value
    int line = 0;
};
struct RuleReject {
    int code = 550;
    std::string status = "5.7.1";
    std::string text = "message refused by policy";
    int line = 0;
};
struct TransportRule {
    std::string name;
    // conditions (all must hold)
    std::vector<std::string> from;            // sender: "a@x.test", "x.test", "*.x.test"
    std::vector<std::string> to;              // any recipient, same forms
    std::optional<RuleScope> from_scope;
    std::optional<RuleScope> to_scope;        // any recipient inside / outside
    std::optional<RuleHeaderCondition> header_contains;
    std::optional<RuleHeaderCondition> header_matches;
    std::vector<std::string> subject_contains;
    std::vector<std::string> body_contains;
    std::vector<std::string> attachment_name;   // globs, as [attachment_filter] names
    std::vector<std::string> attachment_type;   // globs, declared and sniffed, as [attachment_filter] types
    std::optional<std::uint64_t> size_over;
    std::optional<int> scl_at_least;
    // actions
    std::string prepend_subject;
    std::vector<std::string> add_header;      // "X-Name: value"
    std::vector<std::string> set_header;
    std::vector<std::string> remove_header;   // field names
    std::optional<int> set_scl;
    std::vector<std::string> redirect;        // "local@domain"
    std::vector<std::string> bcc;
    bool quarantine = false;
    std::optional<RuleReject> reject;
    bool drop = false;
    bool stop = false;
    int line = 0;
};

// [back_pressure]: the spool's disk and the queue's length watched (session/back_pressure.hpp,
// policy/back_pressure.hpp). Levels: tarpit (anonymous MAIL delayed), refuse (anonymous
// MAIL 452 4.3.1, authenticated and organisation servers delayed), refuse_all (every MAIL
// 452 4.3.1). Disk watermarks are percentages of free space and free inodes of data_dir's
// file system (the lower counts); 0 turns a watermark off.
struct BackPressureSettings {
    bool enabled = true;
    double disk_free_tarpit = 8.0;
    double disk_free_refuse = 4.0;
    double disk_free_refuse_all = 2.0;
    std::uint64_t queue_tarpit = 50000;       // messages in the queue (held and deferred included)
    std::uint64_t queue_refuse = 100000;
    std::uint64_t queue_refuse_all = 200000;
    milliseconds tarpit{std::chrono::seconds(2)};
    int line = 0;
};

// [reputation]: per client address, what the session and the agents saw (HELO forgery,
// pregreet, pipelining violations, unknown recipients, spam confidence levels) condensed
// into a level 0..9 (filter/reputation.hpp); at block_at the address goes on the dynamic
// block list for block_for, source "reputation".
struct ReputationSettings {
    bool enabled = true;
    int block_at = 7;                         // 0: never block (levels are still kept and logged)
    milliseconds block_for{std::chrono::hours(24)};
    milliseconds half_life{std::chrono::hours(1)};   // the counts decay by half in this time
    std::uint64_t max_clients = 100000;       // addresses remembered (least recently seen go first)
    milliseconds greeting_delay{0};           // wait before the banner to catch a pregreet (0: only what is already there)
    int line = 0;
};

// [edge]: the edge side of the subscription (docs/perimeter.md, DESIGN.md §11) and of
// replication (docs/architecture.md "Replication").
struct EdgeSettings {
    milliseconds bootstrap_lifetime{std::chrono::hours(24)};   // the subscription's one-time secret
    Endpoint sync_bind{"0.0.0.0", 50636};    // where the hub pushes replication
    // Outbound through the edge (role edge, route mx): Received headers of internal hosts
    // and X-Originating-IP and the like removed (delivery/internal_headers.hpp).
    bool strip_internal_headers = true;
    milliseconds hub_unreachable_warning{std::chrono::hours(1)};   // replication: then edge.hub.unreachable is logged
    int line = 0;
};

// [quarantine]: messages an agent quarantined stay in the spool, held, until released,
// deleted or older than max_age.
struct QuarantineSettings {
    milliseconds max_age{std::chrono::hours(24 * 30)};
};

// [admin]: the admin listener (HTTP/1.1: /metrics; the web console later). Off when bind
// is empty. Bound to anything but a loopback address it needs TLS and a bearer token (the
// loader refuses it otherwise).
struct AdminSettings {
    std::optional<Endpoint> bind = Endpoint{"127.0.0.1", 2580};   // nullopt: off
    std::filesystem::path tls_certificate;    // empty: plain HTTP (loopback only)
    std::filesystem::path tls_key;
    std::filesystem::path token_file;         // empty: no token asked (loopback only)
    std::string console_group = "rampart-admins";   // directory group whose members may sign in to the console
    milliseconds console_session_lifetime{std::chrono::hours(8)};   // a console session ends this long after sign-in
    int line = 0;
};

// [tracking]: the message tracking store (data_dir/tracking.db, `rampart track`).
struct TrackingSettings {
    bool enabled = true;
    milliseconds max_age{std::chrono::hours(24 * 30)};
    std::uint64_t max_size = std::uint64_t(1) << 30;
};

// [hub]: role hub, pushes to the subscribed edges (data_dir/hub/edges).
struct HubSettings {
    milliseconds config_interval{std::chrono::minutes(3)};       // accepted domains, routes
    milliseconds recipients_interval{std::chrono::minutes(5)};   // recipient and safe-list hashes
};

struct Config {
    std::string source;                       // file name, or "<embedded default>"
    std::filesystem::path base_dir;           // relative paths resolve against this
    ServerSettings server;
    std::vector<Domain> domains;
    DirectorySettings directory;
    TlsSettings tls;
    std::vector<Listener> listeners;
    std::vector<SendConnector> send_connectors;
    QueueSettings queue;
    DnsSettings dns;
    KerberosSettings kerberos;
    DeliverySettings delivery;
    ConnectionFilterSettings connection_filter;
    SenderFilterSettings sender_filter;
    RecipientFilterSettings recipient_filter;
    SenderAuthSettings sender_auth;
    AttachmentFilterSettings attachment_filter;
    AntivirusSettings antivirus;
    ContentFilterSettings content_filter;
    std::vector<MilterSettings> milters;
    QuarantineSettings quarantine;
    std::vector<TransportRule> transport_rules;   // in order
    BackPressureSettings back_pressure;
    ReputationSettings reputation;
    AdminSettings admin;
    TrackingSettings tracking;
    EdgeSettings edge;
    HubSettings hub;

    std::filesystem::path resolve(const std::filesystem::path& p) const {
        return p.is_absolute() ? p : base_dir / p;
    }
};

std::string_view role_name(Role r);

}  // namespace rampart::config
