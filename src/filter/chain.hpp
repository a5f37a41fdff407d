// filter/chain.hpp — the ordered chain of agents (DESIGN.md §5) and its run for one
// session. The session asks the chain at each event; `rampart explain` asks the same
// ChainRun::run with a trace, so live decisions and explanations never differ.
// Contract: the first Refuse, Tempfail or Discard ends the chain for that event; a
// Quarantine is remembered while later agents still run (a later refusal wins); edits
// apply in chain order, each agent seeing the message as edited before it. An agent that
// throws or exceeds its deadline gives 451 4.3.0 (fail closed). Anti-spam agents are
// skipped for authenticated users and organisation servers, and for the rest of the
// session once an agent answered with AgentVerdict::allow_listed (a DNS allow list).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include "filter/agent.hpp"

namespace rampart::filter {

class Chain {
public:
    Chain() = default;
    explicit Chain(std::vector<std::unique_ptr<Agent>> agents) : agents_(std::move(agents)) {}
    bool empty() const { return agents_.empty(); }
    const std::vector<std::unique_ptr<Agent>>& agents() const { return agents_; }

private:
    std::vector<std::unique_ptr<Agent>> agents_;
};

// One agent's answer at one event, as logged and explained.
struct StepNote {
    std::string agent;
    Stage stage = Stage::Connect;
    AgentVerdict::Kind kind = AgentVerdict::Kind::Continue;
    std::string rule;
    std::string reason;
    smtp::Reply reply;
    bool evaluated = true;    // false: skipped (principal) or not evaluated offline
    std::chrono::milliseconds delay{0};   // the tarpit the agent asked for
    bool waited = true;                   // false: the delay was not waited (explain)
};

struct ChainResult {
    AgentVerdict::Kind kind = AgentVerdict::Kind::Continue;
    smtp::Reply reply;                    // Refuse/Tempfail
    std::string agent;                    // who decided (empty: nobody objected)
    std::string rule;
    std::string reason;
    std::optional<std::string> message;   // EndOfData: the edited message, if any agent edited it
    // EndOfData: the recipients after the agents' envelope edits, if any agent edited them
    // (may be empty: every recipient removed, nothing is delivered).
    std::optional<std::vector<std::string>> recipients;
    // EndOfData: the envelope sender an agent set (Edits::sender; the last one wins).
    std::optional<smtp::Path> sender;
    std::optional<int> scl;               // EndOfData: the SCL an agent judged (AgentVerdict::scl)
};

class ChainRun {
public:
    // `offline`: network agents are not asked (explain without --online).
    ChainRun(const Chain& chain, SessionInfo session, bool offline = false);
    void set_principal(const policy::Principal& p) { session_.principal = p; }
    void set_tls(bool tls) { session_.tls = tls; }
    // The message tracking id the filter.verdict log events carry.
    void set_tracking_id(const std::string& id) { tracking_id_ = id; }
    // Non-empty once an agent allow-listed the client (the list's name).
    const std::string& allow_listed() const { return session_.allow_listed; }
    // Tarpits (AgentVerdict::delay) are noted, not waited: `rampart explain` answers at once.
    void skip_delays() { wait_delays_ = false; }
    // Asks every agent in order about `stage`; `trace` receives one note per agent.
    asio::awaitable<ChainResult> run(Stage stage, MessageView view, std::vector<StepNote>* trace = nullptr);
    // The transaction ended: agents drop per-message state; the summary starts over.
    void end_transaction();
    // Non-continue verdicts of this transaction, "agent:verdict,...", or "-" (for the
    // smtp.transaction log line).
    std::string summary() const;
    // Time spent waiting for each agent asked since the transaction started (the connect
    // and helo stages count towards the session's first transaction), "agent:us,..." in
    // chain order, or "-" (the smtp.transaction log line's filter_us). A tarpit the agent
    // asked for is not counted: that is deliberate delay, not the agent's work.
    std::string time_summary() const;

private:
    const Chain& chain_;
    SessionInfo session_;
    bool offline_;
    bool wait_delays_ = true;
    std::vector<std::unique_ptr<AgentRun>> runs_;
    std::string summary_;
    std::vector<std::int64_t> elapsed_us_;   // per agent, this transaction; -1: not asked
    std::string tracking_id_;                // of the transaction under way (set_tracking_id)
};

// Applies one agent's edits to `message` (CRLF lines, header block first).
std::string apply_edits(std::string_view message, const Edits& edits);
// Applies one agent's envelope edits to `recipients`: removals first (case-insensitive),
// then additions not already present; order is kept.
void apply_recipient_edits(std::vector<std::string>& recipients, const Edits& edits);

}  // namespace rampart::filter
