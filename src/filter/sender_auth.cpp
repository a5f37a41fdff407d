// filter/sender_auth.cpp — SPF at MAIL FROM, Authentication-Results at end of data
// (see sender_auth.hpp).
#include "filter/sender_auth.hpp"

#include <optional>

#include "senderauth/auth_results.hpp"

namespace rampart::filter {
namespace {

using senderauth::SpfResult;

class Run final : public AgentRun {
public:
    Run(const SenderAuth& agent, const SessionInfo& session) : agent_(agent), client_(session.client) {}

    asio::awaitable<AgentVerdict> on(Stage stage, const MessageView& view) override {
        if (stage == Stage::RcptTo && view.sender) {
            // Once per transaction, at the first recipient the earlier agents let through;
            // later recipients get the same verdict without asking DNS again.
            if (!spf_) {
                senderauth::SpfRequest req{client_, std::string(view.helo), view.sender->text(), agent_.authserv_id()};
                spf_ = co_await senderauth::check_spf(agent_.dns(), req);
            }
            bool stamp = false;
            AgentVerdict v = agent_.judge(*spf_, stamp);
            stamp_ = stamp;
            co_return v;
        }
        if (stage == Stage::EndOfData) {
            senderauth::AuthResults results;
            results.authserv_id = agent_.authserv_id();
            results.spf = spf_;
            AgentVerdict v = AgentVerdict::proceed("", spf_ ? "spf=" + std::string(spf_result_name(spf_->result)) : "spf not evaluated");
            if (auto cleaned = senderauth::remove_own_results(view.message, agent_.authserv_id())) {
                v.edits.replace_message = std::move(*cleaned);
                v.reason += "; removed incoming Authentication-Results claiming " + agent_.authserv_id();
            }
            v.edits.remove_headers.emplace_back(SenderAuth::kStampHeader);   // never trust an incoming one
            v.edits.add_headers.push_back(senderauth::format_authentication_results(results));
            if (stamp_ && spf_)
                v.edits.add_headers.push_back(std::string(SenderAuth::kStampHeader) + ": spf=" +
                                              std::string(spf_result_name(spf_->result)) + " (" + spf_->domain + ")");
            co_return v;
        }
        co_return AgentVerdict::proceed();
    }

    void end_transaction() override {
        spf_.reset();
        stamp_ = false;
    }

private:
    const SenderAuth& agent_;
    net::IpAddress client_;
    std::optional<senderauth::SpfOutcome> spf_;
    bool stamp_ = false;
};

}  // namespace

AgentVerdict SenderAuth::judge(const senderauth::SpfOutcome& spf, bool& stamp) const {
    stamp = false;
    std::string result(spf_result_name(spf.result));
    std::string reason = "spf=" + result + " for " + spf.identity + " " + spf.sender + " from " + spf.domain + ": " + spf.reason;
    if (!spf.explanation.empty()) reason += " (explanation: " + spf.explanation + ")";
    config::SpfAction action = config::SpfAction::Accept;
    std::string rule;
    smtp::Reply reply;
    switch (spf.result) {
        case SpfResult::Fail:
        case SpfResult::SoftFail:
            action = spf.result == SpfResult::Fail ? settings_.spf_fail : settings_.spf_softfail;
            rule = spf.result == SpfResult::Fail ? "sender_auth.spf_fail" : "sender_auth.spf_softfail";
            reply = smtp::Reply(550, "5.7.23", "SPF " + result + ": " + spf.domain + " does not authorize this client to send its mail");
            break;
        case SpfResult::PermError:
            action = settings_.spf_permerror;
            rule = "sender_auth.spf_permerror";
            reply = smtp::Reply(550, "5.7.24", "SPF permerror: the SPF record of " + spf.domain + " cannot be evaluated");
            break;
        case SpfResult::TempError:
            action = settings_.spf_temperror;
            rule = "sender_auth.spf_temperror";
            reply = smtp::Reply(451, "4.7.24", "SPF temperror for " + spf.domain + "; try again later");
            break;
        default: return AgentVerdict::proceed("", reason);
    }
    switch (action) {
        case config::SpfAction::Reject:
        case config::SpfAction::Tempfail: return AgentVerdict::refuse(reply, rule, reason);
        case config::SpfAction::Stamp:
            stamp = true;
            return AgentVerdict::proceed(rule, reason + "; stamped, not refused");
        case config::SpfAction::Accept: return AgentVerdict::proceed(rule, reason + "; accepted");
    }
    return AgentVerdict::proceed(rule, reason);
}

std::unique_ptr<AgentRun> SenderAuth::start(const SessionInfo& session) const { return std::make_unique<Run>(*this, session); }

}  // namespace rampart::filter
