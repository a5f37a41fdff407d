// filter/connection_filter.hpp — the connect-time agent (DESIGN.md §5, §11
// [connection_filter]): static allow and block lists of client addresses. Allow wins;
// a blocked client gets 550 5.7.1 instead of the greeting. Pure: no network.
#pragma once

#include "config/config.hpp"
#include "filter/agent.hpp"

namespace rampart::filter {

class ConnectionFilter final : public Agent {
public:
    explicit ConnectionFilter(config::ConnectionFilterSettings settings) : settings_(std::move(settings)) {}
    std::string_view name() const override { return "connection_filter"; }
    AgentClass agent_class() const override { return AgentClass::AntiSpam; }
    bool network() const override { return false; }
    bool bound_to(Stage stage) const override { return stage == Stage::Connect; }
    std::unique_ptr<AgentRun> start(const SessionInfo& session) const override;

    // The decision for one client address (the agent's whole logic, also used by tests).
    AgentVerdict judge(const net::IpAddress& client) const;

private:
    config::ConnectionFilterSettings settings_;
};

}  // namespace rampart::filter
