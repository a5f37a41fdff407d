// dns/resolver.hpp — the one DNS resolver of the server, shared by delivery (MX, RFC 5321
// §5.1, RFC 7505), the DNS lists, SPF, DKIM and DMARC. Asynchronous: UDP queries (TCP when
// an answer is truncated) with our own codec (dns/message.hpp) on the caller's executor, no
// thread per look-up. Answers are cached (dns/cache.hpp: TTL-respecting, negative answers
// for the SOA's negative TTL per RFC 2308, LRU-bounded by [dns] cache_entries), and
// concurrent identical questions share one query. Each server is asked at most twice,
// each time waiting at most [dns] timeout, so every look-up ends within
// 2 × servers × timeout. Name servers: [dns] servers, else the nameserver lines of
// /etc/resolv.conf, else 127.0.0.1:53.
// Trust: answers come from the network; an answer is only taken from the server asked
// (connected socket), with the query's id and question; malformed messages count as no
// answer and malformed records are skipped (dns/message.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include "config/config.hpp"
#include "dns/cache.hpp"
#include "util/result.hpp"

namespace rampart::net {
class DescriptorBudget;
}

namespace rampart::dns {

// A failed look-up. `permanent`: the answer says mail cannot be delivered (NXDOMAIN, null
// MX, no address at all); otherwise the failure is temporary (SERVFAIL, timeout, refused).
struct Failure {
    int code = 0;              // libresolv h_errno where one applies, else 0
    std::string message;       // operator-facing
    bool permanent = false;
    std::string status;        // enhanced status for a DSN when not the default
                               // (5.1.2 permanent, 4.4.3 temporary): "5.1.10" for null MX
};

template <class T>
using DnsResult = Result<T, Failure>;

struct MxHost {
    std::string name;                      // lower-case, no trailing dot
    std::uint16_t preference = 0;
    std::vector<std::string> addresses;    // filled only for an implicit MX (already looked up)
};

// Pure part of lookup_mx: the MX records of `domain` as answered (in answer order) →
// hosts in preference order (stable among equal preferences), or a permanent failure for
// a null MX (a single "." record, RFC 7505; "." among others is dropped).
DnsResult<std::vector<MxHost>> order_mx(const std::string& domain, std::vector<MxHost> records);

// RFC 5321 §5.1 loop rule: when `self` (this host's name) is among the MX hosts, only the
// hosts strictly more preferred than it may be tried. `loops` is set when self is listed
// and nothing more preferred remains (the mail would come back here).
std::vector<MxHost> more_preferred_than_self(std::vector<MxHost> hosts, std::string_view self, bool& loops);

// --- Record look-ups for sender authentication (SPF, RFC 7208 §4.6.4, §5) ---
// SPF counts "void" look-ups (NXDOMAIN, or an answer without records of the type) apart
// from temporary failures (SERVFAIL, timeout, refused), so these keep the three apart.
enum class RecordType { A, Aaaa, Mx, Txt, Ptr };
struct Records {
    RecordStatus status = RecordStatus::Temporary;
    // Found: A/AAAA numeric text; MX exchange names (lower-case, no trailing dot) in
    // preference order, a null MX "." left out; TXT each record's strings concatenated
    // (RFC 7208 §3.3); PTR names (lower-case, no trailing dot). Never empty when Found.
    std::vector<std::string> values;
    std::string error;   // Temporary: operator-facing
};

class Resolver {
public:
    explicit Resolver(const config::DnsSettings& settings);
    ~Resolver();   // destroy only when no look-up is in progress (the I/O contexts stopped)
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    // Each query sent takes one descriptor (its socket) from `budget` first, waiting at most
    // the query's own time; none in time is a failure like a timeout. Null (the default):
    // no budget. Set before the first look-up.
    void set_descriptor_budget(net::DescriptorBudget* budget) { descriptors_ = budget; }

    // MX hosts of `domain` sorted by preference; implicit MX (the domain itself, with its
    // addresses) when the domain has addresses but no MX.
    asio::awaitable<DnsResult<std::vector<MxHost>>> lookup_mx(std::string domain);
    // AAAA then A addresses of `host` as numeric text.
    asio::awaitable<DnsResult<std::vector<std::string>>> lookup_addresses(std::string host);

    // The records of `type` at `name` (for PTR: the reverse name, e.g. from
    // senderauth::reverse_name).
    asio::awaitable<Records> lookup_records(std::string name, RecordType type);

    // ---- DNS lists (RFC 5782): A records of one name, with their TTL ----
    // NXDOMAIN and NODATA are answers (not listed, `exists` false), not failures; a
    // server failure, refusal or timeout is a temporary Failure.
    struct AddressAnswer {
        bool exists = false;                  // the name has A records
        std::vector<std::string> addresses;   // IPv4 numeric text, answer order
        std::chrono::seconds ttl{0};          // smallest TTL of those records (0 when !exists)
    };
    asio::awaitable<DnsResult<AddressAnswer>> lookup_a(std::string name);

    // The one question every look-up above asks: the records of `type` (dns::rr_type) at
    // `name`, from the cache, from a query in flight for the same question, or from the
    // name servers. Never throws; cancellation (a caller's deadline) ends only the wait of
    // that caller, not the query others share.
    asio::awaitable<Answer> query(std::string name, std::uint16_t type);
    // The cached answer to that question, if any, without asking (e.g. for a DNS list that
    // is resting after a failure: what it already said still counts).
    std::optional<Answer> cached(std::string name, std::uint16_t type);

    // Counters (for tests and logs): queries sent to a server (UDP and TCP, retries
    // included), answers from the cache, callers that joined a query in flight.
    struct Stats {
        std::uint64_t sent = 0, cache_hits = 0, joined = 0;
    };
    Stats stats() const;
    const std::vector<config::Endpoint>& servers() const { return servers_; }

private:
    struct Impl;
    struct Flight;
    config::DnsSettings settings_;
    std::vector<config::Endpoint> servers_;
    net::DescriptorBudget* descriptors_ = nullptr;
    std::unique_ptr<Impl> impl_;
    asio::awaitable<void> fly(std::shared_ptr<Flight> flight, std::string name, std::uint16_t type);
    asio::awaitable<Answer> ask_servers(std::string name, std::uint16_t type);
};

}  // namespace rampart::dns
