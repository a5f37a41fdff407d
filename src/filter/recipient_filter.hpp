// filter/recipient_filter.hpp — the RCPT TO agent (DESIGN.md §5, §11 [recipient_filter]):
// a block list of recipients, and the look-up of recipients of authoritative domains in
// the directory snapshot of the transaction (MessageView::directory; on an edge the
// replicated recipient data) with the same function access policy and delivery use
// (directory::resolve). Every refusal is 550 5.1.1 "no such recipient here" — a blocked
// recipient reads exactly like an unknown one (Exchange's recipient filter answers both
// with 5.1.1), so a harvester learns nothing from the difference — and carries the tarpit
// as AgentVerdict::delay: the chain waits on a timer (no thread is held; other sessions
// are served) before the refusal is sent.
// Access policy refuses unknown recipients first (rule recipient.known); the session then
// still asks the chain (policy::unknown_recipient), so on filtered listeners an unknown
// recipient is refused by this agent, after the tarpit. Pure: no network.
#pragma once

#include <vector>

#include "config/config.hpp"
#include "filter/address_list.hpp"
#include "filter/agent.hpp"

namespace rampart::replication {
class LiveReplica;
}

namespace rampart::filter {

class RecipientFilter final : public Agent {
public:
    // `replica` (role edge, may be null): when it holds recipients, recipients of the hub's
    // authoritative domains are looked up in its hashes instead of the directory.
    RecipientFilter(config::RecipientFilterSettings settings, std::vector<config::Domain> domains,
                    const replication::LiveReplica* replica = nullptr)
        : settings_(std::move(settings)), domains_(std::move(domains)), block_(settings_.block), replica_(replica) {}
    std::string_view name() const override { return "recipient_filter"; }
    AgentClass agent_class() const override { return AgentClass::AntiSpam; }
    bool network() const override { return false; }
    bool bound_to(Stage stage) const override { return stage == Stage::RcptTo; }
    std::unique_ptr<AgentRun> start(const SessionInfo& session) const override;

    // The decision for one recipient, `directory` the transaction's snapshot (null: none).
    AgentVerdict judge(const smtp::Path& rcpt, const directory::Directory* directory) const;

private:
    config::RecipientFilterSettings settings_;
    std::vector<config::Domain> domains_;
    AddressList block_;
    const replication::LiveReplica* replica_;
};

}  // namespace rampart::filter
