// filter/connection_filter.hpp — the connect-time agent (DESIGN.md §5, §11
// [connection_filter]): who may talk to us, decided from the client address alone.
//   1. static `allow` (never refused by this agent), 2. static `block`, 3. the dynamic
//   block list (`rampart block`, filter/block_list.hpp): 550 5.7.1 instead of the
//   greeting; 4. DNS allow lists (RFC 5782): a listed client is not refused and the chain
//   skips the other anti-spam agents for the session; 5. DNS block lists, asked in order:
//   the first that lists the client decides, 550 5.7.1 naming the zone, at the first RCPT
//   (refuse_at = "rcpt", every RCPT of the session) or instead of the greeting.
// DNS look-ups go through the server's shared dns::Resolver (asynchronous, answers cached
// for their TTL) and are bounded by [dns] timeout; a list that does not answer is
// logged, skipped (never fatal) and rested for kRestAfterFailure.
#pragma once

#include <chrono>
#include <map>
#include <mutex>

#include "config/config.hpp"
#include "filter/agent.hpp"
#include "filter/dns_list.hpp"

namespace rampart::dns {
class Resolver;
}

namespace rampart::filter {

class BlockList;

// What the agent asks besides its settings; both optional (null: not consulted).
struct ConnectionFilterServices {
    dns::Resolver* resolver = nullptr;        // DNS lists; null: providers are not asked (logged)
    const BlockList* block_list = nullptr;    // the dynamic block list
    std::chrono::milliseconds dns_timeout{std::chrono::seconds(5)};   // [dns] timeout
    std::size_t dns_servers = 1;              // [dns] servers count (bounds the worst case)
};

class ConnectionFilter final : public Agent {
public:
    static constexpr std::chrono::seconds kRestAfterFailure{60};

    explicit ConnectionFilter(config::ConnectionFilterSettings settings, ConnectionFilterServices services = {})
        : settings_(std::move(settings)), services_(services) {}
    std::string_view name() const override { return "connection_filter"; }
    AgentClass agent_class() const override { return AgentClass::AntiSpam; }
    // Partly network: the static and dynamic lists are always decided (also by `explain`
    // offline); the DNS lists are asked only online (SessionInfo::offline).
    bool network() const override { return false; }
    std::chrono::milliseconds timeout() const override;
    bool bound_to(Stage stage) const override;
    std::unique_ptr<AgentRun> start(const SessionInfo& session) const override;

    // The pure decision for one client address: static lists and the dynamic block list.
    // nullopt: not decided (the DNS lists come next).
    std::optional<AgentVerdict> judge_lists(const net::IpAddress& client) const;
    // The decision without DNS lists (tests and the static part of explain).
    AgentVerdict judge(const net::IpAddress& client) const;
    // The DNS lists for `client` (allow lists first, then block lists in order). The
    // verdict at connect: allow_listed, a refusal (refuse_at = "connect"), or proceed; for
    // refuse_at = "rcpt" a listing comes back in `rcpt_refusal`.
    struct DnsOutcome {
        AgentVerdict at_connect;
        std::optional<AgentVerdict> rcpt_refusal;
    };
    asio::awaitable<DnsOutcome> ask_dns_lists(net::IpAddress client) const;
    bool has_dns_lists() const { return !settings_.allow_providers.empty() || !settings_.block_providers.empty(); }

private:
    // One DNS list look-up through the cache; nullopt: the list did not answer (logged).
    asio::awaitable<std::optional<std::vector<std::string>>> lookup(const config::DnsListProvider& p,
                                                                     const net::IpAddress& client) const;
    bool resting(const std::string& zone) const;
    void rest(const std::string& zone) const;

    config::ConnectionFilterSettings settings_;
    ConnectionFilterServices services_;
    mutable std::mutex rest_mu_;
    mutable std::map<std::string, std::chrono::steady_clock::time_point> rest_until_;
};

}  // namespace rampart::filter
