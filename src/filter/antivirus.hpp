// filter/antivirus.hpp — the antivirus agent (DESIGN.md §5, §11 [antivirus]): at end of data
// every configured engine scans the message concurrently; the message is clean only when
// every engine says clean. Hygiene: it runs for authenticated users too.
// Fails closed: an engine down, past its timeout, or answering garbage gives 451 4.7.1
// (logged with the engine's name) unless on_error = "accept" was written.
// Infected: 554 5.7.1 naming the signature (on_infected = "reject"), quarantine, or strip:
// each leaf part is then scanned alone, the infected ones are replaced by a notice and the
// rewritten message is scanned again; anything short of a clean result rejects instead.
// Engines: clamd (clamd.hpp) and ICAP (icap.hpp). Verdicts are cached per engine and SHA-256
// of the bytes scanned for cache_ttl (verdict_cache.hpp); a cached verdict says so in the reason.
#pragma once

#include <memory>
#include <vector>

#include "config/config.hpp"
#include "filter/agent.hpp"
#include "filter/clamd_reply.hpp"
#include "filter/verdict_cache.hpp"

namespace rampart::filter {

class Antivirus final : public Agent {
public:
    explicit Antivirus(config::AntivirusSettings settings)
        : settings_(std::move(settings)), cache_(std::make_shared<VerdictCache>(settings_.cache_ttl, settings_.cache_entries)) {}
    std::string_view name() const override { return "antivirus"; }
    AgentClass agent_class() const override { return AgentClass::Hygiene; }
    bool network() const override { return true; }
    // Past the slowest engine's own deadline, so an engine's timeout is reported as that
    // engine's failure (451 4.7.1) rather than the chain's.
    std::chrono::milliseconds timeout() const override;
    bool bound_to(Stage stage) const override { return stage == Stage::EndOfData; }
    std::unique_ptr<AgentRun> start(const SessionInfo& session) const override;

    // Every engine's answer for one message, in engine order (concurrently).
    asio::awaitable<std::vector<ClamdReply>> scan(std::string_view message) const;
    // The verdict for the engines' answers (results[i] is engines[i]'s); logs engine failures.
    AgentVerdict decide(const std::vector<ClamdReply>& results) const;
    AgentVerdict decide(const std::vector<ClamdReply>& results, config::OnInfected on_infected) const;
    // on_infected = "strip" for a message `results` found infected.
    asio::awaitable<AgentVerdict> strip(const MessageView& view, const std::vector<ClamdReply>& results) const;
    bool strips() const { return settings_.on_infected == config::OnInfected::Strip; }

private:
    config::AntivirusSettings settings_;
    std::shared_ptr<VerdictCache> cache_;   // shared by every session; thread-safe
};

}  // namespace rampart::filter
