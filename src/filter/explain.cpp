// filter/explain.cpp — the filter chain's trace for `rampart explain` (see explain.hpp).
#include "filter/explain.hpp"

#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "mime/header.hpp"
#include "util/text.hpp"

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

policy::Decision ChainExplainer::ask(const policy::SessionFacts& f, Stage stage, const MessageView& view, std::string& out,
                                     ChainResult* result_out) {
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
        // The decision names what decided, as an access rule's does (Decision::rule is a
        // view: the name is kept here for as long as this explainer lives).
        d.rule = deciders_.emplace_back("filter " + result.agent + (result.rule.empty() ? "" : " " + result.rule));
        out += "  => " + result.reply.summary() + "   [decided by " + std::string(d.rule) + "]\n";
    }
    if (result_out) *result_out = std::move(result);
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

namespace rampart::filter {
namespace {

// The first top-level Subject, unfolded (as written: encoded words stay encoded).
std::string subject_of(std::string_view message) {
    std::size_t end = message.find("\r\n\r\n");
    std::string_view block = message.substr(0, end == std::string_view::npos ? message.size() : end + 2);
    for (const mime::HeaderField& f : mime::header_fields(block))
        if (mime::iequals(f.name, "Subject")) return mime::unfold(f.raw_value, 4096);
    return "(none)";
}

}  // namespace

policy::Decision ChainExplainer::data(const policy::SessionFacts& f, const smtp::Path& sender,
                                      const std::vector<std::string>& rcpts, std::string& out) {
    if (!message_) {
        out += "  (no --message FILE: explain stops before the end of data; the end-of-data filters, such as the\n"
               "   attachment filter, antivirus and transport rules, are not run)\n";
        return {};
    }
    if (!on_) {
        out += "  no filter runs at the end of data on this listener (filters = false, or no agent configured)\n";
        return {};
    }
    MessageView v;
    v.sender = &sender;
    v.recipients = rcpts;
    v.message = *message_;
    v.directory = f.directory.get();
    ChainResult result;
    policy::Decision d = ask(f, Stage::EndOfData, v, out, &result);
    std::string by = "   [decided by filter " + result.agent + " " + result.rule + "]\n";
    if (result.kind == AgentVerdict::Kind::Quarantine)
        out += "  => quarantined: accepted (250) and held until `rampart quarantine release`" + by;
    else if (result.kind == AgentVerdict::Kind::Discard)
        out += "  => discarded: accepted (250), nothing delivered" + by;
    if (d.verdict != policy::Verdict::Refuse) {
        if (result.recipients) {
            std::string list;
            for (const std::string& r : *result.recipients) list += (list.empty() ? "" : ", ") + r;
            out += "  recipients after the filters: " + (list.empty() ? std::string("none (nothing is delivered)") : list) + "\n";
        }
        if (result.message) {
            out += "  message edited by the filters (" + std::to_string(result.message->size()) + " bytes)\n";
            std::string before = subject_of(*message_), after = subject_of(*result.message);
            if (before != after) out += "  Subject after the filters: " + util::display_escape(after) + "\n";
        }
    }
    return d;
}

}  // namespace rampart::filter
