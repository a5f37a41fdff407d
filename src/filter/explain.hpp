// filter/explain.hpp — the filter chain in `rampart explain`: the live ChainRun, driven
// to completion on a private io_context, with its trace rendered like the access rules.
// Network agents are shown as "not evaluated offline" unless `online`.
#pragma once

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

private:
    policy::Decision ask(const policy::SessionFacts& f, Stage stage, const MessageView& view, std::string& out);
    ChainRun& run_for(const policy::SessionFacts& f);

    const Chain& chain_;
    bool on_;
    bool online_;
    std::unique_ptr<ChainRun> run_;
};

}  // namespace rampart::filter
