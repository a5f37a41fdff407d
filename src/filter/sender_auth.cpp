// filter/sender_auth.cpp — SPF at RCPT TO; DKIM, DMARC and Authentication-Results at end
// of data (see sender_auth.hpp).
#include "filter/sender_auth.hpp"

#include <chrono>
#include <optional>
#include <random>
#include <stdexcept>

#include "senderauth/auth_results.hpp"
#include "senderauth/dkim.hpp"

namespace rampart::filter {
namespace {

using senderauth::SpfResult;
namespace dkim = senderauth::dkim;
namespace dmarc = senderauth::dmarc;
using Clock = std::chrono::steady_clock;

// The domain of a mailbox "local@domain" (after the last "@"); empty without one.
std::string domain_of(std::string_view mailbox) {
    std::size_t at = mailbox.rfind('@');
    return at == std::string_view::npos ? std::string() : std::string(mailbox.substr(at + 1));
}

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
            Clock::time_point deadline = Clock::now() + SenderAuth::kEndOfDataBudget;

            // DKIM (RFC 6376 §6): every signature, its key looked up with what is left of
            // the budget; the results only inform DMARC and the header.
            results.dkim_checked = true;
            for (const dkim::PendingSignature& p : dkim::signatures(view.message)) {
                if (p.done) {
                    results.dkim.push_back(p.outcome);
                    continue;
                }
                dkim::KeyAnswer key;
                dns::Records r = co_await txt(p.key_name(), deadline);
                if (r.status == dns::RecordStatus::Found) key = {dkim::KeyAnswer::Kind::Records, std::move(r.values), {}};
                else if (r.status == dns::RecordStatus::Temporary) key = {dkim::KeyAnswer::Kind::TempFailure, {}, r.error};
                results.dkim.push_back(dkim::verify(view.message, p, key, agent_.now()));
            }

            // DMARC (RFC 7489 §6.6): the From domain's policy, then its organisational domain's.
            dmarc::Request req = dmarc::request(view.message, agent_.psl());
            std::vector<dmarc::TxtAnswer> answers;
            if (!req.done) {
                for (const std::string& name : req.names) {
                    dns::Records r = co_await txt(name, deadline);
                    dmarc::TxtAnswer a;
                    if (r.status == dns::RecordStatus::Found) a = {dmarc::TxtAnswer::Kind::Records, std::move(r.values)};
                    else if (r.status == dns::RecordStatus::Temporary) a.kind = dmarc::TxtAnswer::Kind::TempFailure;
                    answers.push_back(std::move(a));
                    if (!dmarc::keep_looking(answers.back())) break;
                }
            }
            dmarc::SpfIdentity spf_id;
            if (spf_) {
                spf_id.domain = spf_->domain;
                spf_id.pass = spf_->result == SpfResult::Pass;
            } else if (view.sender) {
                spf_id.domain = domain_of(view.sender->text());
            }
            results.dmarc = dmarc::evaluate(req, answers, spf_id, results.dkim, agent_.psl(), agent_.roll() % 100);

            bool dmarc_stamp = false;
            AgentVerdict v = agent_.judge(*results.dmarc, dmarc_stamp);
            std::string summary = (spf_ ? "spf=" + std::string(spf_result_name(spf_->result)) : std::string("spf not evaluated"));
            if (results.dkim.empty()) summary += " dkim=none";
            for (const dkim::DkimOutcome& d : results.dkim)
                summary += " dkim=" + std::string(dkim::result_name(d.result)) + (d.domain.empty() ? "" : " (d=" + d.domain + ")");
            v.reason = summary + "; " + v.reason;
            if (v.kind == AgentVerdict::Kind::Refuse || v.kind == AgentVerdict::Kind::Tempfail) co_return v;

            if (auto cleaned = senderauth::remove_own_results(view.message, agent_.authserv_id())) {
                v.edits.replace_message = std::move(*cleaned);
                v.reason += "; removed incoming Authentication-Results claiming " + agent_.authserv_id();
            }
            v.edits.remove_headers.emplace_back(SenderAuth::kStampHeader);   // never trust an incoming one
            v.edits.add_headers.push_back(senderauth::format_authentication_results(results));
            std::string stamp;
            if (stamp_ && spf_) stamp = "spf=" + std::string(spf_result_name(spf_->result)) + " (" + spf_->domain + ")";
            if (dmarc_stamp)
                stamp += (stamp.empty() ? "" : "; ") + std::string("dmarc=") + std::string(dmarc::result_name(results.dmarc->result)) +
                         " (" + results.dmarc->from_domain + ")";
            if (!stamp.empty()) v.edits.add_headers.push_back(std::string(SenderAuth::kStampHeader) + ": " + stamp);
            co_return v;
        }
        co_return AgentVerdict::proceed();
    }

    void end_transaction() override {
        spf_.reset();
        stamp_ = false;
    }

private:
    // One TXT look-up, or a temporary failure without asking once the budget is spent.
    asio::awaitable<dns::Records> txt(const std::string& name, Clock::time_point deadline) {
        if (Clock::now() >= deadline)
            co_return dns::Records{dns::RecordStatus::Temporary, {}, "TXT " + name + ": not asked, the end-of-data time budget of " +
                                                                      std::to_string(SenderAuth::kEndOfDataBudget.count()) + " s is spent"};
        co_return co_await agent_.dns().lookup(name, dns::RecordType::Txt);
    }

    const SenderAuth& agent_;
    net::IpAddress client_;
    std::optional<senderauth::SpfOutcome> spf_;
    bool stamp_ = false;
};

}  // namespace

SenderAuth::SenderAuth(config::SenderAuthSettings settings, std::string authserv_id, std::shared_ptr<senderauth::SpfLookup> dns,
                       std::shared_ptr<const senderauth::PublicSuffixList> psl)
    : settings_(std::move(settings)), authserv_id_(std::move(authserv_id)), dns_(std::move(dns)), psl_(std::move(psl)) {
    now = [] {
        return static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    };
    roll = [] {
        thread_local std::mt19937 dice{std::random_device{}()};
        return static_cast<unsigned>(std::uniform_int_distribution<unsigned>(0, 99)(dice));
    };
}

std::shared_ptr<const senderauth::PublicSuffixList> SenderAuth::load_public_suffix_list(const std::string& path) {
    auto psl = senderauth::PublicSuffixList::load(path);
    if (!psl) throw std::runtime_error("sender_auth.public_suffix_list: " + psl.error().message);
    if (psl->size() == 0) throw std::runtime_error("sender_auth.public_suffix_list: " + path + " holds no rules");
    return std::make_shared<const senderauth::PublicSuffixList>(std::move(*psl));
}

AgentVerdict SenderAuth::judge(const senderauth::dmarc::Outcome& o, bool& stamp) const {
    stamp = false;
    std::string reason = "dmarc=" + std::string(dmarc::result_name(o.result)) +
                         (o.from_domain.empty() ? "" : " for " + o.from_domain) + (o.reason.empty() ? "" : ": " + o.reason);
    if (o.result == dmarc::DmarcResult::TempError) {
        std::string rule = "sender_auth.dmarc_temperror";
        switch (settings_.dmarc_temperror) {
            case config::SpfAction::Reject:
            case config::SpfAction::Tempfail:
                return AgentVerdict::refuse(smtp::Reply(451, "4.7.1", "DMARC policy of " + o.from_domain + " could not be looked up; try again later"),
                                            rule, reason);
            case config::SpfAction::Stamp:
                stamp = true;
                return AgentVerdict::proceed(rule, reason + "; stamped, not refused");
            case config::SpfAction::Accept: return AgentVerdict::proceed(rule, reason + "; accepted");
        }
    }
    // Only a failure under p=quarantine or p=reject (after pct= sampling) is acted on; p=none,
    // pass, none and permerror (no usable policy) get the header only (RFC 7489 §6.6.2).
    if (o.result != dmarc::DmarcResult::Fail || o.disposition == dmarc::Policy::None) return AgentVerdict::proceed("", reason);
    bool is_reject = o.disposition == dmarc::Policy::Reject;
    config::DmarcAction action = is_reject ? settings_.dmarc_reject : settings_.dmarc_quarantine;
    std::string rule = is_reject ? "sender_auth.dmarc_reject" : "sender_auth.dmarc_quarantine";
    switch (action) {
        case config::DmarcAction::Reject:
            return AgentVerdict::refuse(smtp::Reply(550, "5.7.1", "DMARC policy of " + o.from_domain + " (p=" +
                                                                      std::string(dmarc::policy_name(o.published)) +
                                                                      ") refuses this message: no aligned SPF or DKIM pass"),
                                        rule, reason);
        case config::DmarcAction::Quarantine: return AgentVerdict::quarantine(rule, reason);
        case config::DmarcAction::Stamp:
            stamp = true;
            return AgentVerdict::proceed(rule, reason + "; stamped, not refused");
        case config::DmarcAction::Accept: return AgentVerdict::proceed(rule, reason + "; accepted");
    }
    return AgentVerdict::proceed(rule, reason);
}

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
