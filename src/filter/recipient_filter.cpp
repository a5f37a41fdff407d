// filter/recipient_filter.cpp — blocked and unknown recipients at RCPT TO, refused after
// the tarpit (see recipient_filter.hpp).
#include "filter/recipient_filter.hpp"

#include "directory/mailbox.hpp"
#include "replication/replica.hpp"

namespace rampart::filter {
namespace {

class Run final : public AgentRun {
public:
    explicit Run(const RecipientFilter& agent) : agent_(agent) {}
    asio::awaitable<AgentVerdict> on(Stage stage, const MessageView& view) override {
        if (stage != Stage::RcptTo || !view.rcpt) co_return AgentVerdict::proceed();
        co_return agent_.judge(*view.rcpt, view.directory);
    }

private:
    const RecipientFilter& agent_;
};

}  // namespace

AgentVerdict RecipientFilter::judge(const smtp::Path& rcpt, const directory::Directory* directory) const {
    const smtp::Mailbox& m = rcpt.mailbox;
    if (m.domain.empty()) return AgentVerdict::proceed("", "<Postmaster> is always accepted (RFC 5321 §4.5.1)");
    auto refused = [&](std::string rule, std::string reason) {
        AgentVerdict v = AgentVerdict::refuse(smtp::Reply(550, "5.1.1", "no such recipient here"), std::move(rule), std::move(reason));
        v.delay = settings_.tarpit;
        return v;
    };
    if (const std::string* entry = block_.match(m))
        return refused("recipient_filter.block", m.text() + " matches \"" + *entry + "\"");
    if (!settings_.lookup) return AgentVerdict::proceed("", m.text() + " is not on the block list (lookup = false)");
    std::string domain = m.domain_key();
    if (auto replica = replica_ ? replica_->get() : nullptr; replica && replica->has_recipients()) {
        // Role edge: the hub's authoritative domains and its recipients, as keyed hashes.
        if (directory::authoritative(replica->domains(), domain)) {
            if (directory::is_postmaster(m.local_unquoted())) return AgentVerdict::proceed("", "postmaster is always accepted (RFC 5321 §4.5.1)");
            if (!replica->knows(m.text()))
                return refused("recipient_filter.lookup", m.key() + " is not in the replicated recipients (serial " +
                                                              std::to_string(replica->recipients.serial) + ")");
            return AgentVerdict::proceed("", m.key() + " is in the replicated recipients");
        }
    }
    if (!directory::authoritative(domains_, domain))
        return AgentVerdict::proceed("", domain + " is not authoritative: the directory cannot tell");
    directory::Resolved r = directory::resolve(directory, m.text());
    if (r.kind == directory::Resolved::Kind::Unknown)
        return refused("recipient_filter.lookup", m.key() + " is not in the directory");
    return AgentVerdict::proceed("", m.key() + " is known (or the directory does not cover " + domain + ")");
}

std::unique_ptr<AgentRun> RecipientFilter::start(const SessionInfo&) const { return std::make_unique<Run>(*this); }

}  // namespace rampart::filter
