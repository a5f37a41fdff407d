// senderauth/spf.hpp — SPF evaluation, check_host() of RFC 7208 §4, on an injected DNS
// look-up interface (the project's asynchronous dns::Resolver in the server, an in-memory
// table in tests).
// Trust: every record and answer comes from DNS the sender controls. The evaluation is
// bounded however hostile the records: at most 10 DNS-querying terms (include, a, mx, ptr,
// exists, redirect) across the whole evaluation, includes and redirects counted, so loops
// end in permerror; at most 2 void look-ups; at most 10 MX names per mx (more: permerror)
// and 10 PTR names (the rest ignored) (§4.6.4); and a total time budget after which the
// result is temperror.
// Contract: check_spf never throws for any DNS content; every result carries a reason.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "config/config.hpp"
#include "dns/resolver.hpp"
#include "net/cidr.hpp"

namespace rampart::senderauth {

// The DNS questions SPF asks (A, AAAA, MX names, TXT, PTR), void kept apart from
// temporary failure (dns::Records).
class SpfLookup {
public:
    virtual ~SpfLookup() = default;
    virtual asio::awaitable<dns::Records> lookup(std::string name, dns::RecordType type) = 0;
};

// SpfLookup on the server's shared resolver (which must outlive this), or on one of its
// own made from [dns] settings (for a chain built without one).
class ResolverLookup final : public SpfLookup {
public:
    explicit ResolverLookup(dns::Resolver& shared) : resolver_(&shared) {}
    explicit ResolverLookup(const config::DnsSettings& settings)
        : owned_(std::make_unique<dns::Resolver>(settings)), resolver_(owned_.get()) {}
    asio::awaitable<dns::Records> lookup(std::string name, dns::RecordType type) override {
        co_return co_await resolver_->lookup_records(std::move(name), type);
    }

private:
    std::unique_ptr<dns::Resolver> owned_;
    dns::Resolver* resolver_;
};

// RFC 7208 §2.6.
enum class SpfResult { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };
std::string_view spf_result_name(SpfResult r);   // "pass", "softfail", "permerror", ...

struct SpfLimits {
    int dns_terms = 10;      // §4.6.4 item 1
    int void_lookups = 2;    // §4.6.4 item 4
    int mx_names = 10;       // §4.6.4 item 2
    int ptr_names = 10;      // §4.6.4 item 3
    std::chrono::milliseconds budget{std::chrono::seconds(20)};   // §4.6.4: "at least 20 seconds"
};

struct SpfRequest {
    net::IpAddress client;
    std::string helo;        // as the client sent it
    std::string sender;      // MAIL FROM mailbox "local@domain"; empty: the null sender
    std::string receiver;    // this host's name (%{r} in explanations)
};

struct SpfOutcome {
    SpfResult result = SpfResult::None;
    std::string identity;     // "mailfrom", or "helo" for a null sender (§2.4); empty: not checked
    std::string sender;       // the <sender> checked: local@domain, postmaster@HELO for helo
    std::string domain;       // the domain whose policy was asked
    std::string reason;       // why: the matching term, or the error (logs, A-R comment)
    std::string explanation;  // fail only: the domain's exp= text, macro-expanded, if any
    int dns_terms = 0;        // DNS-querying terms used
    int void_lookups = 0;
};

// check_host() for the MAIL FROM identity, or the HELO identity when the sender is null
// (RFC 7208 §2.3, §2.4). A HELO that is no domain name (an address literal) gives none.
asio::awaitable<SpfOutcome> check_spf(SpfLookup& dns, SpfRequest request, SpfLimits limits = {});

}  // namespace rampart::senderauth
