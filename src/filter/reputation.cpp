// filter/reputation.cpp — decaying per-address counts, the level formula, HELO forgery and
// the block at block_at (see reputation.hpp).
#include "filter/reputation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "filter/block_list.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace rampart::filter {
namespace {

std::string one_decimal(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    std::string s = buf;
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
    return s;
}

// "[192.0.2.1]", "[IPv6:2001:db8::1]" or a bare address; nullopt if the argument is a name.
std::optional<net::IpAddress> address_in_helo(std::string_view helo) {
    if (helo.size() >= 2 && helo.front() == '[' && helo.back() == ']') {
        std::string_view inner = helo.substr(1, helo.size() - 2);
        if (inner.size() > 5 && util::ascii_lower(inner.substr(0, 5)) == "ipv6:") inner.remove_prefix(5);
        return net::IpAddress::parse(inner);
    }
    return net::IpAddress::parse(helo);
}

}  // namespace

std::string_view signal_name(Signal s) {
    switch (s) {
        case Signal::HeloForgery: return "helo_forgery";
        case Signal::Pregreet: return "pregreet";
        case Signal::Pipelining: return "pipelining";
        case Signal::RefusedRecipient: return "refused_recipient";
        case Signal::Scl: return "scl";
    }
    return "?";
}

double reputation_score(const ReputationCounts& c) {
    return kHeloForgeryPoints * c.helo_forgery + kPregreetPoints * c.pregreet + kPipeliningPoints * c.pipelining +
           kRefusedRecipientPoints * c.refused_recipients + c.scl_points;
}

int reputation_level(const ReputationCounts& c) {
    // Rounded to a tenth first: points decayed by a few seconds (2.9992 of 3) still count whole.
    double s = std::round(reputation_score(c) * 10) / 10;
    return std::clamp(static_cast<int>(std::floor(s)), 0, 9);
}

ReputationCounts decay(ReputationCounts c, std::chrono::milliseconds elapsed, std::chrono::milliseconds half_life) {
    if (elapsed.count() <= 0 || half_life.count() <= 0) return c;
    double f = std::exp2(-static_cast<double>(elapsed.count()) / static_cast<double>(half_life.count()));
    c.helo_forgery *= f;
    c.pregreet *= f;
    c.pipelining *= f;
    c.refused_recipients *= f;
    c.scl_points *= f;
    return c;
}

void add_signal(ReputationCounts& c, Signal s, int scl) {
    switch (s) {
        case Signal::HeloForgery: c.helo_forgery += 1; break;
        case Signal::Pregreet: c.pregreet += 1; break;
        case Signal::Pipelining: c.pipelining += 1; break;
        case Signal::RefusedRecipient: c.refused_recipients += 1; break;
        case Signal::Scl:
            if (scl >= 5) c.scl_points += scl - 4;
            else if (scl >= 0 && scl <= 2) c.scl_points = std::max(0.0, c.scl_points - 1);
            break;
    }
}

std::string describe(const ReputationCounts& c) {
    std::string out;
    auto part = [&](std::string_view name, double v) {
        if (v < 0.05) return;
        out += (out.empty() ? "" : ", ") + std::string(name) + " " + one_decimal(v);
    };
    part("helo_forgery", c.helo_forgery);
    part("pregreet", c.pregreet);
    part("pipelining", c.pipelining);
    part("refused_recipients", c.refused_recipients);
    part("scl_points", c.scl_points);
    return out.empty() ? "nothing" : out;
}

std::optional<std::string> helo_forgery(std::string_view helo, const net::IpAddress& client, std::string_view hostname,
                                        const std::vector<config::Domain>& domains) {
    if (helo.empty()) return std::nullopt;
    if (auto a = address_in_helo(helo)) {
        if (a->unmapped() == client.unmapped()) return std::nullopt;
        return "HELO " + std::string(helo) + " is an address that is not the client's (" + client.unmapped().text() + ")";
    }
    std::string name = util::ascii_lower(helo);
    while (!name.empty() && name.back() == '.') name.pop_back();
    if (!hostname.empty() && name == util::ascii_lower(hostname)) return "HELO " + std::string(helo) + " claims this host's name";
    for (const config::Domain& d : domains)
        if (name == d.name) return "HELO " + std::string(helo) + " claims our accepted domain " + d.name;
    return std::nullopt;
}

Reputation::Reputation(config::ReputationSettings settings, std::vector<net::Cidr> allow, BlockList* block_list, Now now)
    : settings_(settings), allow_(std::move(allow)), block_list_(block_list), now_(now ? std::move(now) : Now(Clock::now)) {}

bool Reputation::applies(const net::IpAddress& client, const policy::Principal& principal) const {
    if (!settings_.enabled || !principal.anonymous()) return false;
    net::IpAddress a = client.unmapped();
    return std::none_of(allow_.begin(), allow_.end(), [&](const net::Cidr& c) { return c.contains(a); });
}

std::optional<int> Reputation::note(const net::IpAddress& in, const policy::Principal& principal, Signal s, int scl) {
    if (!applies(in, principal)) return std::nullopt;
    net::IpAddress client = in.unmapped();
    std::string key = client.text();
    Clock::time_point now = now_();
    int before = 0, after = 0;
    std::string counts_text;
    {
        std::lock_guard lock(mu_);
        auto it = entries_.find(key);
        if (it == entries_.end()) {
            while (entries_.size() >= std::max<std::uint64_t>(1, settings_.max_clients) && !lru_.empty()) {
                entries_.erase(lru_.back());
                lru_.pop_back();
            }
            lru_.push_front(key);
            it = entries_.emplace(key, Entry{{}, now, 0, lru_.begin()}).first;
        } else {
            lru_.splice(lru_.begin(), lru_, it->second.lru);
        }
        Entry& e = it->second;
        e.counts = decay(e.counts, std::chrono::duration_cast<std::chrono::milliseconds>(now - e.updated), settings_.half_life);
        e.updated = now;
        before = e.level;
        add_signal(e.counts, s, scl);
        e.level = after = reputation_level(e.counts);
        counts_text = describe(e.counts);
    }
    log::event(log::Level::Debug, "reputation.signal", {{"client", key}, {"signal", signal_name(s)}, {"scl", scl}, {"level", after}});
    if (after != before)
        log::info("reputation.level", {{"client", key}, {"level", after}, {"previous", before}, {"counts", counts_text}});
    // XXX(reputation): BlockList::add writes its file durably on this session's I/O thread;
    // it happens once per blocked address, so the few milliseconds are accepted.
    if (settings_.block_at > 0 && after >= settings_.block_at && block_list_ && !block_list_->find(client)) {
        net::Cidr host{client, client.v6 ? 128u : 32u};
        auto until = std::chrono::system_clock::now() + settings_.block_for;
        std::string reason = "reputation level " + std::to_string(after) + ": " + counts_text;
        if (auto r = block_list_->add(host, until, reason, "reputation"); !r)
            log::error("reputation.block.failed", {{"client", key}, {"error", r.error().message}});
        else
            log::warn("reputation.blocked", {{"client", key}, {"level", after}, {"until", block_time_text(until)}, {"reason", reason}});
    }
    return after;
}

std::optional<ReputationCounts> Reputation::counts(const net::IpAddress& in) const {
    std::lock_guard lock(mu_);
    auto it = entries_.find(in.unmapped().text());
    if (it == entries_.end()) return std::nullopt;
    return decay(it->second.counts, std::chrono::duration_cast<std::chrono::milliseconds>(now_() - it->second.updated),
                 settings_.half_life);
}

std::size_t Reputation::size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
}

}  // namespace rampart::filter
