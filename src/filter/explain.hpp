// filter/explain.hpp — the filter chain in `rampart explain`: the live ChainRun, driven
// to completion on a private io_context, with its trace rendered like the access rules.
// Network agents are shown as "not evaluated offline" unless `online`. With a message
// (`rampart explain --message FILE`) the end-of-data stage runs too (attachment filter,
// transport rules, ...); without one, explain stops before the end of data and says so.
#pragma once

#include <deque>
#include <optional>
#include <string>

#include "filter/chain.hpp"
#include "policy/explain.hpp"

namespace rampart::filter {

class ChainExplainer final : public policy::ExplainStages {
public:
    // `listener_filters`: the listener's `filters` key; off means no agent runs.
    ChainExplainer(const Chain& chain, bool listener_filters, bool online)
        : chain_(chain), on_(listener_filters && !chain.empty()), online_(online) {}
    policy::Decision connect(const policy::SessionFacts& f, std::string& out) override;
    policy::Decision mail(const policy::SessionFacts& f, const smtp::Path& sender, std::string& out) override;
    policy::Decision rcpt(const policy::SessionFacts& f, const smtp::Path& sender, const smtp::Path& rcpt,
                          std::string& out) override;
    policy::Decision data(const policy::SessionFacts& f, const smtp::Path& sender, const std::vector<std::string>& rcpts,
                          std::string& out) override;
    // The message the end-of-data stage runs on (CRLF line ends, as a live session stores it).
    void set_message(std::string message) { message_ = std::move(message); }

private:
    policy::Decision ask(const policy::SessionFacts& f, Stage stage, const MessageView& view, std::string& out,
                         ChainResult* result_out = nullptr);
    ChainRun& run_for(const policy::SessionFacts& f);

    const Chain& chain_;
    bool on_;
    bool online_;
    std::unique_ptr<ChainRun> run_;
    std::optional<std::string> message_;
    std::deque<std::string> deciders_;   // "filter AGENT RULE": what Decision::rule views
};

}  // namespace rampart::filter
