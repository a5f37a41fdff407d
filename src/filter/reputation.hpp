// filter/reputation.hpp — sender reputation per client address (issue 9, "protocol
// analysis"): what sessions and agents saw of an address — HELO forgery, talking before
// the banner (pregreet), pipelining violations, refused recipients, content-filter spam
// confidence levels — kept as decaying counts and condensed into a level 0..9 by
// reputation_level() (the formula is documented there and in docs/configuration.md
// "Reputation"). At [reputation] block_at the address goes on the dynamic block list
// (BlockList::add, source "reputation", for block_for), and the connection filter refuses
// it at connect from then on.
// Anti-spam only: nothing is recorded for authenticated users, organisation servers,
// addresses in [connection_filter] allow, or sessions of listeners without filters.
// Bounded: at most max_clients addresses, the least recently seen forgotten first.
// Thread-safe: sessions on every I/O thread report.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "net/cidr.hpp"
#include "policy/principal.hpp"

namespace rampart::filter {

class BlockList;

enum class Signal { HeloForgery, Pregreet, Pipelining, RefusedRecipient, Scl };
std::string_view signal_name(Signal s);   // "helo_forgery", "pregreet", "pipelining", "refused_recipient", "scl"

// The decaying counts behind a level.
struct ReputationCounts {
    double helo_forgery = 0;
    double pregreet = 0;
    double pipelining = 0;
    double refused_recipients = 0;
    double scl_points = 0;   // per scanned message: + (SCL - 4) for SCL >= 5; - 1 for SCL <= 2 (not below 0)
};

// Points per event (the formula's weights).
inline constexpr double kHeloForgeryPoints = 3;
inline constexpr double kPregreetPoints = 4;
inline constexpr double kPipeliningPoints = 3;
inline constexpr double kRefusedRecipientPoints = 0.5;

// score = 3·helo_forgery + 4·pregreet + 3·pipelining + 0.5·refused_recipients + scl_points;
// level = min(9, floor(score rounded to one decimal)).
double reputation_score(const ReputationCounts& c);
int reputation_level(const ReputationCounts& c);
// Every count multiplied by 2^(-elapsed / half_life).
ReputationCounts decay(ReputationCounts c, std::chrono::milliseconds elapsed, std::chrono::milliseconds half_life);
// Adds one event.
void add_signal(ReputationCounts& c, Signal s, int scl = 0);
// "helo_forgery 2, pregreet 1" (counts rounded to one decimal; zero counts left out).
std::string describe(const ReputationCounts& c);

// Whether the HELO/EHLO argument is forged: it claims this host's name, one of our accepted
// domains, or is an address literal (or a bare address) that is not the client's. Returns
// the reason, or nullopt.
std::optional<std::string> helo_forgery(std::string_view helo, const net::IpAddress& client, std::string_view hostname,
                                        const std::vector<config::Domain>& domains);

class Reputation {
public:
    using Clock = std::chrono::steady_clock;
    using Now = std::function<Clock::time_point()>;

    // `allow`: [connection_filter] allow. `block_list`: null means levels only.
    Reputation(config::ReputationSettings settings, std::vector<net::Cidr> allow, BlockList* block_list, Now now = {});

    // Whether events of this client are recorded at all (the exemptions above).
    bool applies(const net::IpAddress& client, const policy::Principal& principal) const;
    // Records one event and returns the client's level after it (nullopt: exempt or off).
    // At block_at the address is blocked (once: not again while its block lasts).
    std::optional<int> note(const net::IpAddress& client, const policy::Principal& principal, Signal s, int scl = 0);
    // The client's counts now (decayed); nullopt if not remembered.
    std::optional<ReputationCounts> counts(const net::IpAddress& client) const;
    std::size_t size() const;
    const config::ReputationSettings& settings() const { return settings_; }

private:
    struct Entry {
        ReputationCounts counts;
        Clock::time_point updated;
        int level = 0;
        std::list<std::string>::iterator lru;
    };

    config::ReputationSettings settings_;
    std::vector<net::Cidr> allow_;
    BlockList* block_list_;
    Now now_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, Entry> entries_;
    std::list<std::string> lru_;   // most recently seen first
};

}  // namespace rampart::filter
