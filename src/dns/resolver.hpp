// dns/resolver.hpp — MX and address look-ups for delivery (RFC 5321 §5.1, RFC 7505) with
// glibc's libresolv. The look-ups block, so they run on the resolver's own two threads;
// the awaitable API resumes the caller on its own executor, never blocking an I/O thread.
// Configured name servers ([dns] servers) must be IPv4 (libresolv's nsaddr_list holds
// sockaddr_in only); without them /etc/resolv.conf is used.
// Trust: answers come from the network; they are parsed with ns_initparse/ns_parserr and
// malformed records are skipped.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include "config/config.hpp"
#include "util/result.hpp"

namespace asio {
class thread_pool;
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
enum class RecordStatus { Found, NoData, NxDomain, Temporary };
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
    ~Resolver();   // waits for look-ups in progress (each bounded by the timeout)
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    // MX hosts of `domain` sorted by preference; implicit MX (the domain itself, with its
    // addresses) when the domain has addresses but no MX.
    asio::awaitable<DnsResult<std::vector<MxHost>>> lookup_mx(std::string domain);
    // AAAA then A addresses of `host` as numeric text.
    asio::awaitable<DnsResult<std::vector<std::string>>> lookup_addresses(std::string host);

    // The blocking versions (run on any thread; used by the awaitable API).
    DnsResult<std::vector<MxHost>> lookup_mx_blocking(const std::string& domain) const;
    DnsResult<std::vector<std::string>> lookup_addresses_blocking(const std::string& host) const;

    // The records of `type` at `name` (for PTR: the reverse name, e.g. from
    // senderauth::reverse_name), on the resolver's threads.
    asio::awaitable<Records> lookup_records(std::string name, RecordType type);
    Records lookup_records_blocking(const std::string& name, RecordType type) const;

    // ---- DNS lists (RFC 5782): A records of one name, with their TTL ----
    // NXDOMAIN and NODATA are answers (not listed, `exists` false), not failures; a
    // server failure, refusal or timeout is a temporary Failure.
    struct AddressAnswer {
        bool exists = false;                  // the name has A records
        std::vector<std::string> addresses;   // IPv4 numeric text, answer order
        std::chrono::seconds ttl{0};          // smallest TTL of those records (0 when !exists)
    };
    asio::awaitable<DnsResult<AddressAnswer>> lookup_a(std::string name);
    DnsResult<AddressAnswer> lookup_a_blocking(const std::string& name) const;

private:
    config::DnsSettings settings_;
    std::unique_ptr<asio::thread_pool> pool_;
};

}  // namespace rampart::dns
