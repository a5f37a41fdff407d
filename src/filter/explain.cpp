// filter/explain.cpp — the filter chain's trace for `rampart explain` (see explain.hpp).
#include "filter/explain.hpp"

#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

namespace rampart::filter {

ChainRun& ChainExplainer::run_for(const policy::SessionFacts& f) {
    if (!run_) {
        run_ = std::make_unique<ChainRun>(chain_, SessionInfo{f.listener->name, f.client, f.tls, f.principal}, !online_);
        run_->skip_delays();
    }
    run_->set_principal(f.principal);
    run_->set_tls(f.tls);
    return *run_;
}

policy::Decision ChainExplainer::ask(const policy::SessionFacts& f, Stage stage, const MessageView& view, std::string& out) {
    policy::Decision d;
    if (!on_) return d;
    ChainRun& run = run_for(f);
    std::vector<StepNote> notes;
    ChainResult result;
    asio::io_context io;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { result = co_await run.run(stage, view, &notes); }, asio::detached);
    io.run();
    std::size_t width = 0;
    for (const StepNote& n : notes) width = std::max(width, n.agent.size() + 1 + n.rule.size());
    for (const StepNote& n : notes) {
        std::string who = n.agent + (n.rule.empty() ? "" : " " + n.rule);
        who.resize(std::max(width, who.size()), ' ');
        std::string verdict = n.evaluated ? std::string(verdict_name(n.kind)) : std::string("-");
        verdict.resize(10, ' ');
        std::string tarpit;
        if (n.delay.count() > 0) tarpit = " (tarpit " + std::to_string(n.delay.count()) + " ms" + (n.waited ? "" : ", not waited here") + ")";
        out += "  filter " + who + "  " + verdict + "  " + n.reason + tarpit + "\n";
    }
    if (result.kind == AgentVerdict::Kind::Refuse || result.kind == AgentVerdict::Kind::Tempfail) {
        d.verdict = policy::Verdict::Refuse;
        d.reply = result.reply;
        out += "  => " + result.reply.summary() + "   [decided by filter " + result.agent + " " + result.rule + "]\n";
    }
    return d;
}

policy::Decision ChainExplainer::connect(const policy::SessionFacts& f, std::string& out) {
    return ask(f, Stage::Connect, {}, out);
}

policy::Decision ChainExplainer::mail(const policy::SessionFacts& f, const smtp::Path& sender, std::string& out) {
    MessageView v;
    v.sender = &sender;
    v.directory = f.directory.get();
    return ask(f, Stage::MailFrom, v, out);
}

policy::Decision ChainExplainer::rcpt(const policy::SessionFacts& f, const smtp::Path& sender, const smtp::Path& rcpt,
                                      std::string& out) {
    MessageView v;
    v.sender = &sender;
    v.rcpt = &rcpt;
    v.directory = f.directory.get();
    return ask(f, Stage::RcptTo, v, out);
}

}  // namespace rampart::filter
