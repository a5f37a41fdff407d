// filter/connection_filter.cpp — static IP allow/block lists at connect.
#include "filter/connection_filter.hpp"

namespace rampart::filter {
namespace {

const net::Cidr* first_match(const std::vector<net::Cidr>& list, const net::IpAddress& a) {
    for (const net::Cidr& c : list)
        if (c.contains(a)) return &c;
    return nullptr;
}

class Run final : public AgentRun {
public:
    Run(const ConnectionFilter& agent, net::IpAddress client) : agent_(agent), client_(client) {}
    asio::awaitable<AgentVerdict> on(Stage stage, const MessageView&) override {
        if (stage != Stage::Connect) co_return AgentVerdict::proceed();
        co_return agent_.judge(client_);
    }

private:
    const ConnectionFilter& agent_;
    net::IpAddress client_;
};

}  // namespace

AgentVerdict ConnectionFilter::judge(const net::IpAddress& client) const {
    if (const net::Cidr* c = first_match(settings_.allow, client))
        return AgentVerdict::proceed("connection_filter.allow", client.text() + " is in " + c->text());
    if (const net::Cidr* c = first_match(settings_.block, client))
        return AgentVerdict::refuse(smtp::Reply(550, "5.7.1", "connection refused by the connection filter"),
                                    "connection_filter.block", client.text() + " is in " + c->text());
    return AgentVerdict::proceed("", client.text() + " is on neither list");
}

std::unique_ptr<AgentRun> ConnectionFilter::start(const SessionInfo& session) const {
    return std::make_unique<Run>(*this, session.client);
}

}  // namespace rampart::filter
