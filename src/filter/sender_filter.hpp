// filter/sender_filter.hpp — the MAIL FROM agent (DESIGN.md §5, §11 [sender_filter]):
// blocked sender addresses, domains and *.domain subdomains, and optionally the null
// sender. action = "reject": 554 5.7.1 to MAIL FROM. action = "stamp": the message is
// accepted and, at end of data, gets the header X-Rampart-Sender-Filter for later agents
// and rules. An incoming header of that name is always removed at end of data, so an
// outsider cannot forge the verdict (authenticated users skip anti-spam agents, and with
// them this removal: they are trusted). Pure: no network.
#pragma once

#include "config/config.hpp"
#include "filter/address_list.hpp"
#include "filter/agent.hpp"

namespace rampart::filter {

class SenderFilter final : public Agent {
public:
    static constexpr std::string_view kHeader = "X-Rampart-Sender-Filter";

    explicit SenderFilter(config::SenderFilterSettings settings) : settings_(std::move(settings)), block_(settings_.block) {}
    std::string_view name() const override { return "sender_filter"; }
    AgentClass agent_class() const override { return AgentClass::AntiSpam; }
    bool network() const override { return false; }
    bool bound_to(Stage stage) const override { return stage == Stage::MailFrom || stage == Stage::EndOfData; }
    std::unique_ptr<AgentRun> start(const SessionInfo& session) const override;

    // The decision for one sender as if action were "reject" (Refuse with the rule, or
    // Continue); the run turns a refusal into a stamp when action = "stamp".
    AgentVerdict judge(const smtp::Path& sender) const;
    config::SenderFilterAction action() const { return settings_.action; }

private:
    config::SenderFilterSettings settings_;
    AddressList block_;
};

}  // namespace rampart::filter
