// filter/sender_filter.cpp — blocked senders at MAIL FROM, refused or stamped
// (see sender_filter.hpp).
#include "filter/sender_filter.hpp"

#include <optional>

#include "util/text.hpp"

namespace rampart::filter {
namespace {

// True if the message's header block has a field named `name` (ASCII case-insensitive),
// so a clean message is not rewritten just to remove nothing.
bool has_field(std::string_view message, std::string_view name) {
    std::size_t end = message.find("\r\n\r\n");
    std::string head = util::ascii_lower(std::string(message.substr(0, end == std::string_view::npos ? message.size() : end + 2)));
    std::string field = util::ascii_lower(std::string(name)) + ":";
    for (std::size_t pos = 0; pos < head.size();) {
        if (head.compare(pos, field.size(), field) == 0) return true;
        std::size_t nl = head.find('\n', pos);
        if (nl == std::string::npos) break;
        pos = nl + 1;
    }
    return false;
}

class Run final : public AgentRun {
public:
    explicit Run(const SenderFilter& agent) : agent_(agent) {}

    asio::awaitable<AgentVerdict> on(Stage stage, const MessageView& view) override {
        if (stage == Stage::MailFrom && view.sender) {
            stamp_.reset();
            AgentVerdict v = agent_.judge(*view.sender);
            if (v.kind != AgentVerdict::Kind::Refuse || agent_.action() != config::SenderFilterAction::Stamp) co_return v;
            stamp_ = std::string(SenderFilter::kHeader) + ": blocked (" + v.rule + ")";
            co_return AgentVerdict::proceed(v.rule, v.reason + "; stamped, not refused (action = stamp)");
        }
        if (stage == Stage::EndOfData) {
            AgentVerdict v = AgentVerdict::proceed("", stamp_ ? "stamped: " + *stamp_ : "not stamped");
            if (has_field(view.message, SenderFilter::kHeader))
                v.edits.remove_headers.emplace_back(SenderFilter::kHeader);   // never trust an incoming one
            if (stamp_) v.edits.add_headers.push_back(*stamp_);
            co_return v;
        }
        co_return AgentVerdict::proceed();
    }

    void end_transaction() override { stamp_.reset(); }

private:
    const SenderFilter& agent_;
    std::optional<std::string> stamp_;   // the header for this message, if the sender was blocked
};

}  // namespace

AgentVerdict SenderFilter::judge(const smtp::Path& sender) const {
    smtp::Reply refused(554, "5.7.1", "sender refused by the sender filter");
    if (sender.null) {
        if (settings_.block_blank_sender)
            return AgentVerdict::refuse(refused, "sender_filter.block_blank_sender", "the null sender <> is blocked");
        return AgentVerdict::proceed("", "the null sender <> is allowed (block_blank_sender = false)");
    }
    if (const std::string* entry = block_.match(sender.mailbox))
        return AgentVerdict::refuse(refused, "sender_filter.block", sender.mailbox.text() + " matches \"" + *entry + "\"");
    return AgentVerdict::proceed("", sender.mailbox.text() + " is not on the block list");
}

std::unique_ptr<AgentRun> SenderFilter::start(const SessionInfo&) const { return std::make_unique<Run>(*this); }

}  // namespace rampart::filter
