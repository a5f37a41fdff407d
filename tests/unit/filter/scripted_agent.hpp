// scripted_agent.hpp — an agent for tests of the filter seam: answers each stage with a
// verdict the test set, and counts the questions. (Real agents are tested on their own.)
#pragma once

#include <map>
#include <memory>
#include <stdexcept>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "filter/agent.hpp"
#include "mime/structure.hpp"

namespace rampart::test {

struct Script {
    std::map<filter::Stage, filter::AgentVerdict> verdicts;   // missing: Continue
    bool throws = false;                                     // every question throws
    std::chrono::milliseconds hang{0};                       // wait this long before answering
    int asked = 0;
    std::string last_message;                                // EndOfData: what the agent saw
    std::size_t mime_parts = 0;                              // EndOfData: parts in the parsed view
    std::vector<std::string> last_recipients;                // EndOfData: the recipients the agent saw
};

class ScriptedAgent final : public filter::Agent {
public:
    ScriptedAgent(std::string name, Script& script, filter::AgentClass cls = filter::AgentClass::Hygiene,
                  bool network = false, std::chrono::milliseconds timeout = std::chrono::seconds(5))
        : name_(std::move(name)), script_(script), class_(cls), network_(network), timeout_(timeout) {}
    std::string_view name() const override { return name_; }
    filter::AgentClass agent_class() const override { return class_; }
    bool network() const override { return network_; }
    bool bound_to(filter::Stage) const override { return true; }
    std::chrono::milliseconds timeout() const override { return timeout_; }
    std::unique_ptr<filter::AgentRun> start(const filter::SessionInfo&) const override {
        return std::make_unique<Run>(script_);
    }

private:
    struct Run final : filter::AgentRun {
        explicit Run(Script& s) : s_(s) {}
        asio::awaitable<filter::AgentVerdict> on(filter::Stage stage, const filter::MessageView& view) override {
            ++s_.asked;
            if (s_.hang.count() > 0) {
                asio::steady_timer t(co_await asio::this_coro::executor, s_.hang);
                co_await t.async_wait(asio::use_awaitable);
            }
            if (s_.throws) throw std::runtime_error("scripted failure");
            if (stage == filter::Stage::EndOfData) {
                s_.last_message = std::string(view.message);
                s_.mime_parts = view.mime ? view.mime->parts.size() : 0;
                s_.last_recipients.assign(view.recipients.begin(), view.recipients.end());
            }
            auto it = s_.verdicts.find(stage);
            co_return it == s_.verdicts.end() ? filter::AgentVerdict::proceed() : it->second;
        }
        Script& s_;
    };
    std::string name_;
    Script& script_;
    filter::AgentClass class_;
    bool network_;
    std::chrono::milliseconds timeout_;
};

}  // namespace rampart::test
