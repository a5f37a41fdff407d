// filter/content_filter.cpp — rspamd asked, SCL judged, stamp written (see content_filter.hpp).
#include "filter/content_filter.hpp"

#include <algorithm>

#include "directory/safe_senders.hpp"
#include "filter/http_client.hpp"
#include "policy/trust.hpp"
#include "replication/replica.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace rampart::filter {
namespace {

// The first line of every top-level field named `name` (lower-case), value trimmed.
std::vector<std::string_view> field_values(std::string_view message, std::string_view name) {
    std::vector<std::string_view> out;
    for (std::size_t pos = 0; pos < message.size();) {
        std::size_t nl = message.find('\n', pos);
        std::string_view line = message.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) break;   // end of the header block
        if (line.size() > name.size() && line[name.size()] == ':' &&
            util::ascii_lower(std::string(line.substr(0, name.size()))) == name) {
            std::string_view v = line.substr(name.size() + 1);
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
            while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
            out.push_back(v);
        }
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    return out;
}

constexpr std::string_view kHeaderLower = "x-rampart-scl";

// HELO text as a header value: printable ASCII only, bounded.
std::string header_value(std::string_view s) {
    std::string out;
    for (char c : s)
        if (c > 0x20 && c < 0x7f && out.size() < 255) out += c;
    return out;
}

std::string stamp(int scl) { return std::string(ContentFilter::kHeader) + ": " + std::to_string(scl); }

class Run final : public AgentRun {
public:
    // `session` is the ChainRun's own (agent.hpp): it shows the principal after AUTH.
    Run(const ContentFilter& agent, const SessionInfo& session) : agent_(agent), session_(session) {}

    asio::awaitable<AgentVerdict> on(Stage stage, const MessageView& view) override {
        if (stage != Stage::EndOfData) co_return AgentVerdict::proceed();
        using Kind = policy::Principal::Kind;
        const policy::Principal& p = session_.principal;
        if (policy::organisation_server(p)) {
            std::optional<int> scl = ContentFilter::read_stamp(view.message);
            if (!scl) co_return AgentVerdict::proceed("", "organisation server " + p.name + ": not scanned, no stamp to judge");
            AgentVerdict v = agent_.judge(*scl, true);
            v.reason = "stamp of organisation server " + p.name + ": SCL " + std::to_string(*scl) + (v.reason.empty() ? "" : "; " + v.reason);
            co_return v;
        }
        Edits strip;
        if (ContentFilter::has_stamp(view.message)) strip.remove_headers.emplace_back(ContentFilter::kHeader);   // never trust an incoming one
        if (p.kind == Kind::User) {
            AgentVerdict v = AgentVerdict::proceed("", "authenticated user " + p.name + ": not scanned (anti-spam)");
            v.edits = std::move(strip);
            co_return v;
        }
        if (agent_.settings().engine == config::ContentEngine::None) {
            AgentVerdict v = AgentVerdict::proceed("", "engine = none: not scanned");
            v.edits = std::move(strip);
            co_return v;
        }
        // Safe lists: who of the recipients lists the envelope sender.
        std::size_t safe = 0;
        std::string safe_for;
        if (view.sender && !view.sender->null)
            for (const std::string& r : view.recipients)
                if (agent_.lists_safe_sender(view.directory, r, view.sender->mailbox)) {
                    ++safe;
                    safe_for += (safe_for.empty() ? "" : ", ") + r;
                }
        AgentVerdict v;
        if (safe > 0 && safe == view.recipients.size()) {
            v = AgentVerdict::proceed("content_filter.safe_senders",
                                      view.sender->mailbox.text() + " is a safe sender of every recipient: not scanned, SCL -1");
            v.edits = std::move(strip);
            v.edits.add_headers.push_back(stamp(-1));
            co_return v;
        }
        RspamdReply reply = co_await agent_.check(session_, view);
        v = agent_.decide(reply, safe > 0);
        if (safe > 0 && reply.kind == RspamdReply::Kind::Ok) v.reason += "; safe sender of " + safe_for + ": no threshold applied";
        Edits edits = std::move(strip);
        if (reply.kind == RspamdReply::Kind::Ok) edits.add_headers.push_back(stamp(scl_of(reply)));
        v.edits = std::move(edits);
        co_return v;
    }

private:
    const ContentFilter& agent_;
    const SessionInfo& session_;
};

}  // namespace

std::optional<int> ContentFilter::read_stamp(std::string_view message) {
    std::vector<std::string_view> values = field_values(message, kHeaderLower);
    if (values.empty()) return std::nullopt;
    std::string_view v = values.front();
    if (v == "-1") return -1;
    if (v.size() == 1 && v[0] >= '0' && v[0] <= '9') return v[0] - '0';
    return std::nullopt;
}

bool ContentFilter::has_stamp(std::string_view message) { return !field_values(message, kHeaderLower).empty(); }

bool ContentFilter::lists_safe_sender(const directory::Directory* dir, std::string_view recipient,
                                      const smtp::Mailbox& sender) const {
    if (dir && directory::lists_safe_sender(*dir, recipient, sender)) return true;
    auto replica = replica_ ? replica_->get() : nullptr;
    return replica && replica->has_recipients() && replica->lists_safe_sender(recipient, sender.text(), sender.domain);
}

AgentVerdict ContentFilter::judge(int scl, bool trusted_stamp) const {
    std::string at = "SCL " + std::to_string(scl);
    if (settings_.delete_at > 0 && scl >= settings_.delete_at)
        return AgentVerdict::discard("content_filter.delete_at", at + " >= delete_at " + std::to_string(settings_.delete_at));
    if (!trusted_stamp && settings_.reject_at > 0 && scl >= settings_.reject_at)
        return AgentVerdict::refuse(smtp::Reply(550, "5.7.1", "message refused as spam (SCL " + std::to_string(scl) + ")"),
                                    "content_filter.reject_at", at + " >= reject_at " + std::to_string(settings_.reject_at));
    if (settings_.quarantine_at > 0 && scl >= settings_.quarantine_at)
        return AgentVerdict::quarantine("content_filter.quarantine_at", at + " >= quarantine_at " + std::to_string(settings_.quarantine_at));
    return AgentVerdict::proceed("", at + " is below every threshold");
}

AgentVerdict ContentFilter::decide(const RspamdReply& reply, bool some_recipients_safe) const {
    if (reply.kind == RspamdReply::Kind::Error) {
        log::event(log::Level::Warning, "content_filter.engine_error",
                   {{"engine", "rspamd"}, {"address", settings_.address.text()}, {"error", reply.error},
                    {"on_error", settings_.on_error == config::OnEngineError::Accept ? "accept" : "tempfail"}});
        if (settings_.on_error == config::OnEngineError::Accept)
            return AgentVerdict::proceed("content_filter.on_error", "rspamd failed: " + reply.error + " (on_error = accept: not scanned)");
        return AgentVerdict::refuse(smtp::Reply(451, "4.7.1", "spam check unavailable; try again later"),
                                    "content_filter.on_error", "rspamd failed: " + reply.error);
    }
    int scl = scl_of(reply);
    std::string symbols;
    for (std::size_t i = 0; i < reply.symbols.size() && i < 20; ++i) symbols += (i ? "," : "") + reply.symbols[i];
    log::event(log::Level::Info, "content_filter.scanned",
               {{"scl", scl}, {"score", std::to_string(reply.score)}, {"required_score", std::to_string(reply.required_score)},
                {"action", reply.action}, {"symbols", symbols.empty() ? "-" : symbols}});
    std::string why = "rspamd: " + reply.action + ", score " + std::to_string(reply.score) + "/" + std::to_string(reply.required_score) +
                      (reply.gtube ? ", GTUBE" : "");
    AgentVerdict v = some_recipients_safe ? AgentVerdict::proceed("", "SCL " + std::to_string(scl)) : judge(scl, false);
    v.reason = why + "; " + v.reason;
    v.scl = scl;
    return v;
}

asio::awaitable<RspamdReply> ContentFilter::check(const SessionInfo& session, const MessageView& view) const {
    HttpFields fields;
    fields.emplace_back("IP", session.client.text());
    if (!view.helo.empty()) fields.emplace_back("Helo", header_value(view.helo));
    if (view.sender && !view.sender->null) fields.emplace_back("From", view.sender->mailbox.text());
    for (const std::string& r : view.recipients) fields.emplace_back("Rcpt", r);
    fields.emplace_back("MTA-Name", hostname_);
    HttpResponse r = co_await http_post(settings_.address, "/checkv2", fields, view.message, settings_.timeout, kRspamdMaxReply);
    if (!r.ok) {
        RspamdReply failed;
        failed.error = r.error;
        co_return failed;
    }
    if (r.status != 200) {
        RspamdReply failed;
        failed.error = "HTTP status " + std::to_string(r.status);
        co_return failed;
    }
    co_return parse_rspamd_reply(r.body);
}

std::unique_ptr<AgentRun> ContentFilter::start(const SessionInfo& session) const { return std::make_unique<Run>(*this, session); }

}  // namespace rampart::filter
