// filter/chain.cpp — running the agents in order with deadlines (see chain.hpp).
#include "filter/chain.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <variant>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "mime/parser.hpp"
#include "util/log.hpp"
#include "util/metric_catalog.hpp"
#include "util/text.hpp"

namespace rampart::filter {
namespace {

using Kind = AgentVerdict::Kind;

bool skipped_for(const Agent& a, const SessionInfo& s) {
    return a.agent_class() == AgentClass::AntiSpam && (!s.principal.anonymous() || !s.allow_listed.empty());
}

AgentVerdict internal_failure(std::string reason) {
    AgentVerdict v;
    v.kind = Kind::Tempfail;
    v.reply = smtp::Reply(451, "4.3.0", "temporary filter failure; try again later");
    v.rule = "filter";
    v.reason = std::move(reason);
    return v;
}

// The agent's answer, or 451 4.3.0 for an exception it threw (an answer either way, so
// the race below ends at once rather than waiting out the deadline).
asio::awaitable<AgentVerdict> guarded(AgentRun& run, Stage stage, const MessageView& view) {
    std::string failure;
    try {
        AgentVerdict v = co_await run.on(stage, view);
        co_return v;
    } catch (const std::exception& e) {
        failure = std::string("agent failed: ") + e.what();
    }
    co_return internal_failure(std::move(failure));
}

// Calls one agent with its deadline; exceptions and timeouts become 451 4.3.0.
asio::awaitable<AgentVerdict> ask(const Agent& agent, AgentRun& run, Stage stage, const MessageView& view) {
    using namespace asio::experimental::awaitable_operators;
    std::string failure;
    try {
        asio::steady_timer timer(co_await asio::this_coro::executor, agent.timeout());
        // Named locals: GCC 12 mishandles temporaries inside co_await expressions.
        asio::awaitable<AgentVerdict> call = guarded(run, stage, view);
        asio::awaitable<void> deadline = timer.async_wait(asio::use_awaitable);
        auto race = std::move(call) || std::move(deadline);
        std::variant<AgentVerdict, std::monostate> r = co_await std::move(race);
        if (r.index() == 0) co_return std::get<0>(std::move(r));
        failure = "no answer within " + std::to_string(agent.timeout().count()) + " ms";
    } catch (const std::exception& e) {
        failure = std::string("agent failed: ") + e.what();
    }
    co_return internal_failure(std::move(failure));
}

}  // namespace

ChainRun::ChainRun(const Chain& chain, SessionInfo session, bool offline)
    : chain_(chain), session_(std::move(session)), offline_(offline) {
    session_.offline = offline;
    for (const auto& a : chain_.agents()) runs_.push_back(a->start(session_));
    elapsed_us_.assign(runs_.size(), -1);
}

asio::awaitable<ChainResult> ChainRun::run(Stage stage, MessageView view, std::vector<StepNote>* trace) {
    ChainResult result;
    std::string edited;   // owns the message once an agent edited it
    bool was_edited = false;
    std::optional<mime::Structure> parsed;   // end of data: parsed once per version of the message
    std::optional<std::vector<std::string>> recipients;   // owns the recipients once an agent edited them
    const auto& agents = chain_.agents();
    view.session = &session_;
    for (std::size_t i = 0; i < agents.size(); ++i) {
        const Agent& agent = *agents[i];
        if (!agent.bound_to(stage)) continue;
        StepNote note{std::string(agent.name()), stage, Kind::Continue, "", "", {}, true, {}, true};
        if (skipped_for(agent, session_)) {
            note.evaluated = false;
            note.reason = !session_.principal.anonymous() ? "skipped: " + session_.principal.text() + " is authenticated"
                                                           : "skipped: the client is allow-listed (" + session_.allow_listed + ")";
            if (trace) trace->push_back(std::move(note));
            continue;
        }
        if (offline_ && agent.network()) {
            note.evaluated = false;
            note.reason = "not evaluated offline (use --online)";
            if (trace) trace->push_back(std::move(note));
            continue;
        }
        if (stage == Stage::EndOfData && !parsed) {
            parsed = mime::parse(view.message);
            view.mime = &*parsed;
        }
        auto asked = std::chrono::steady_clock::now();
        AgentVerdict v = co_await ask(agent, *runs_[i], stage, view);
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - asked).count();
        elapsed_us_[i] = std::max<std::int64_t>(elapsed_us_[i], 0) + us;
        // The console's explain runs the chain of an imagined session (quiet): not a real agent call.
        if (!log::quiet()) metrics::catalog().filter_agent_seconds.with({agent.name()}).observe(static_cast<double>(us) / 1e6);
        note.delay = v.delay;
        note.waited = wait_delays_;
        if (v.delay.count() > 0 && wait_delays_) {
            asio::steady_timer t(co_await asio::this_coro::executor, v.delay);
            std::error_code ec;
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        if (v.allow_listed && session_.allow_listed.empty())
            session_.allow_listed = v.reason.empty() ? std::string(agent.name()) : v.reason;
        if (v.scl) result.scl = v.scl;
        note.kind = v.kind;
        note.rule = v.rule;
        note.reason = v.reason;
        note.reply = v.reply;
        if (stage == Stage::EndOfData && v.edits.recipients_edited()) {
            if (!recipients) recipients.emplace(view.recipients.begin(), view.recipients.end());
            apply_recipient_edits(*recipients, v.edits);
            view.recipients = *recipients;
        }
        if (stage == Stage::EndOfData && v.edits.sender) {
            // Agents check the address; a malformed one is dropped here all the same.
            std::optional<smtp::Path> p;
            if (v.edits.sender->empty()) {
                p.emplace();
                p->null = true;
            } else if (auto m = smtp::parse_mailbox(*v.edits.sender)) {
                p.emplace();
                p->mailbox = std::move(*m);
            }
            if (p) {
                result.sender = std::move(p);
                view.sender = &*result.sender;   // later agents see the new sender
            }
        }
        if (stage == Stage::EndOfData && v.edits.message_edited()) {
            edited = apply_edits(was_edited ? std::string_view(edited) : view.message, v.edits);
            was_edited = true;
            view.message = edited;
            parsed.reset();   // the next agent gets the edited message parsed
            view.mime = nullptr;
        }
        auto level = v.kind == Kind::Continue ? log::Level::Debug : log::Level::Info;
        log::event(level, "filter.verdict", {{"listener", session_.listener}, {"client", session_.client.text()},
                                             {"agent", agent.name()}, {"stage", stage_name(stage)},
                                             {"verdict", verdict_name(v.kind)}, {"rule", v.rule.empty() ? "-" : v.rule},
                                             {"code", v.reply.code}, {"reason", v.reason.empty() ? "-" : v.reason},
                                             {"us", us}, {"tracking_id", tracking_id_.empty() ? "-" : tracking_id_}});
        if (trace) trace->push_back(note);
        if (v.kind == Kind::Continue) continue;
        summary_ += (summary_.empty() ? "" : ",") + std::string(agent.name()) + ":" + std::string(verdict_name(v.kind));
        if (v.kind == Kind::Quarantine) {
            if (result.kind == Kind::Continue) {
                result.kind = Kind::Quarantine;
                result.agent = agent.name();
                result.rule = v.rule;
                result.reason = v.reason;
            }
            continue;
        }
        result.kind = v.kind;
        result.reply = v.reply;
        result.agent = agent.name();
        result.rule = v.rule;
        result.reason = v.reason;
        break;
    }
    if (was_edited) result.message = std::move(edited);
    if (recipients) result.recipients = std::move(recipients);
    co_return result;
}

void ChainRun::end_transaction() {
    for (auto& r : runs_) r->end_transaction();
    summary_.clear();
    std::fill(elapsed_us_.begin(), elapsed_us_.end(), -1);
}

std::string ChainRun::summary() const { return summary_.empty() ? "-" : summary_; }

std::string ChainRun::time_summary() const {
    std::string out;
    const auto& agents = chain_.agents();
    for (std::size_t i = 0; i < agents.size(); ++i) {
        if (elapsed_us_[i] < 0) continue;
        out += (out.empty() ? "" : ",") + std::string(agents[i]->name()) + ":" + std::to_string(elapsed_us_[i]);
    }
    return out.empty() ? "-" : out;
}

void apply_recipient_edits(std::vector<std::string>& recipients, const Edits& edits) {
    auto same = [](std::string_view a, std::string_view b) { return util::ascii_lower(a) == util::ascii_lower(b); };
    for (const std::string& gone : edits.remove_recipients)
        std::erase_if(recipients, [&](const std::string& r) { return same(r, gone); });
    for (const std::string& added : edits.add_recipients)
        if (std::none_of(recipients.begin(), recipients.end(), [&](const std::string& r) { return same(r, added); }))
            recipients.push_back(added);
}

std::string apply_edits(std::string_view message, const Edits& edits) {
    std::string_view in = edits.replace_message ? std::string_view(*edits.replace_message) : message;
    // The header block ends at the first empty line (or the end of the message).
    std::size_t end = 0;
    while (end < in.size()) {
        std::size_t nl = in.find('\n', end);
        std::size_t next = nl == std::string_view::npos ? in.size() : nl + 1;
        std::string_view line = in.substr(end, next - end);
        if (line == "\r\n" || line == "\n") break;
        end = next;
    }
    std::string out;
    out.reserve(in.size() + 256);
    for (const std::string& h : edits.add_headers) out += h + "\r\n";
    bool dropping = false;
    for (std::size_t pos = 0; pos < end;) {
        std::size_t nl = in.find('\n', pos);
        std::size_t next = nl == std::string_view::npos ? end : std::min(end, nl + 1);
        std::string_view line = in.substr(pos, next - pos);
        bool continuation = !line.empty() && (line[0] == ' ' || line[0] == '\t');
        if (!continuation) {
            std::size_t colon = line.find(':');
            std::string name = util::ascii_lower(std::string(line.substr(0, colon == std::string_view::npos ? 0 : colon)));
            dropping = false;
            for (const std::string& r : edits.remove_headers)
                if (!name.empty() && util::ascii_lower(r) == name) dropping = true;
        }
        if (!dropping) out.append(line);
        pos = next;
    }
    out.append(in.substr(end));
    return out;
}

std::string_view stage_name(Stage s) {
    switch (s) {
        case Stage::Connect: return "connect";
        case Stage::Helo: return "helo";
        case Stage::MailFrom: return "mail";
        case Stage::RcptTo: return "rcpt";
        case Stage::EndOfData: return "data";
    }
    return "?";
}

std::string_view verdict_name(AgentVerdict::Kind k) {
    switch (k) {
        case Kind::Continue: return "continue";
        case Kind::Refuse: return "refuse";
        case Kind::Tempfail: return "tempfail";
        case Kind::Quarantine: return "quarantine";
        case Kind::Discard: return "discard";
    }
    return "?";
}

AgentVerdict AgentVerdict::proceed(std::string rule, std::string reason) {
    AgentVerdict v;
    v.rule = std::move(rule);
    v.reason = std::move(reason);
    return v;
}

AgentVerdict AgentVerdict::refuse(smtp::Reply reply, std::string rule, std::string reason) {
    AgentVerdict v;
    v.kind = reply.transient() ? Kind::Tempfail : Kind::Refuse;
    v.reply = std::move(reply);
    v.rule = std::move(rule);
    v.reason = std::move(reason);
    return v;
}

AgentVerdict AgentVerdict::quarantine(std::string rule, std::string reason) {
    AgentVerdict v = proceed(std::move(rule), std::move(reason));
    v.kind = Kind::Quarantine;
    return v;
}

AgentVerdict AgentVerdict::discard(std::string rule, std::string reason) {
    AgentVerdict v = proceed(std::move(rule), std::move(reason));
    v.kind = Kind::Discard;
    return v;
}

}  // namespace rampart::filter
