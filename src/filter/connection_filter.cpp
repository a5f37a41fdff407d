// filter/connection_filter.cpp — IP lists and DNS lists at connect (see the header).
#include "filter/connection_filter.hpp"

#include "dns/resolver.hpp"
#include "filter/block_list.hpp"
#include "util/log.hpp"

namespace rampart::filter {
namespace {

const net::Cidr* first_match(const std::vector<net::Cidr>& list, const net::IpAddress& a) {
    for (const net::Cidr& c : list)
        if (c.contains(a)) return &c;
    return nullptr;
}

// Text an operator or a list chose, made safe for an SMTP reply line.
std::string reply_safe(std::string_view s) {
    std::string out;
    for (char c : s) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (out.size() > 200) out.resize(200);
    return out;
}

class Run final : public AgentRun {
public:
    Run(const ConnectionFilter& agent, const SessionInfo& session)
        : agent_(agent), client_(session.client.unmapped()), offline_(session.offline) {}
    asio::awaitable<AgentVerdict> on(Stage stage, const MessageView&) override {
        if (stage == Stage::RcptTo) co_return rcpt_refusal_ ? *rcpt_refusal_ : AgentVerdict::proceed();
        if (stage != Stage::Connect) co_return AgentVerdict::proceed();
        if (auto v = agent_.judge_lists(client_)) co_return std::move(*v);
        if (offline_ && agent_.has_dns_lists())
            co_return AgentVerdict::proceed("", client_.text() + " is on no static or dynamic list; DNS lists not evaluated offline (use --online)");
        ConnectionFilter::DnsOutcome o = co_await agent_.ask_dns_lists(client_);
        rcpt_refusal_ = std::move(o.rcpt_refusal);
        co_return std::move(o.at_connect);
    }

private:
    const ConnectionFilter& agent_;
    net::IpAddress client_;
    bool offline_;
    std::optional<AgentVerdict> rcpt_refusal_;   // listed, refuse_at = "rcpt": every RCPT gets it
};

}  // namespace

bool ConnectionFilter::bound_to(Stage stage) const {
    return stage == Stage::Connect ||
           (stage == Stage::RcptTo && settings_.refuse_at == config::RefuseAt::Rcpt && !settings_.block_providers.empty());
}

std::chrono::milliseconds ConnectionFilter::timeout() const {
    // The worst case of libresolv with every list timing out: each server asked twice
    // (the second time with twice the wait), per list; plus slack. Past it the chain
    // answers 451, so it must not be reached by lists that merely do not answer.
    std::size_t lists = settings_.allow_providers.size() + settings_.block_providers.size();
    auto per_list = services_.dns_timeout * 3 * static_cast<long>(std::max<std::size_t>(1, services_.dns_servers));
    return std::chrono::seconds(10) + per_list * static_cast<long>(lists);
}

std::optional<AgentVerdict> ConnectionFilter::judge_lists(const net::IpAddress& in) const {
    net::IpAddress client = in.unmapped();
    if (const net::Cidr* c = first_match(settings_.allow, client))
        return AgentVerdict::proceed("connection_filter.allow", client.text() + " is in " + c->text());
    if (const net::Cidr* c = first_match(settings_.block, client))
        return AgentVerdict::refuse(smtp::Reply(550, "5.7.1", "connection refused by the connection filter"),
                                    "connection_filter.block", client.text() + " is in " + c->text());
    if (services_.block_list)
        if (auto e = services_.block_list->find(client)) {
            std::string until = e->expires ? "until " + block_time_text(e->expires) : "until removed";
            std::string why = e->reason.empty() ? std::string() : ": " + e->reason;
            return AgentVerdict::refuse(
                smtp::Reply(550, "5.7.1", reply_safe("client " + client.text() + " is blocked " + until + why)),
                "block_list", client.text() + " is in " + e->prefix.text() + " (added by " + e->source + ", " + until + ")" + why);
        }
    return std::nullopt;
}

AgentVerdict ConnectionFilter::judge(const net::IpAddress& client) const {
    if (auto v = judge_lists(client)) return std::move(*v);
    return AgentVerdict::proceed("", client.unmapped().text() + " is on neither list");
}

bool ConnectionFilter::resting(const std::string& zone) const {
    std::lock_guard lock(rest_mu_);
    auto it = rest_until_.find(zone);
    return it != rest_until_.end() && it->second > std::chrono::steady_clock::now();
}

void ConnectionFilter::rest(const std::string& zone) const {
    std::lock_guard lock(rest_mu_);
    rest_until_[zone] = std::chrono::steady_clock::now() + kRestAfterFailure;
}

asio::awaitable<std::optional<std::vector<std::string>>> ConnectionFilter::lookup(const config::DnsListProvider& p,
                                                                                  const net::IpAddress& client) const {
    std::string name = dns_list_name(client, p.zone);
    if (!services_.resolver) {
        log::warn("connection_filter.dns_list.skipped", {{"zone", p.zone}, {"client", client.text()}, {"error", "no resolver"}});
        co_return std::nullopt;
    }
    if (resting(p.zone)) {
        if (std::optional<dns::Answer> hit = services_.resolver->cached(name, dns::rr_type::A)) {
            std::vector<std::string> addresses;   // what the list said before it failed still counts
            for (const dns::ResourceRecord& r : hit->records) addresses.push_back(r.value);
            co_return addresses;
        }
        log::event(log::Level::Debug, "connection_filter.dns_list.skipped", {{"zone", p.zone}, {"client", client.text()}, {"error", "resting after a failure"}});
        co_return std::nullopt;
    }
    dns::DnsResult<dns::Resolver::AddressAnswer> r = co_await services_.resolver->lookup_a(name);
    if (!r) {
        rest(p.zone);
        log::warn("connection_filter.dns_list.failed",
                  {{"zone", p.zone}, {"client", client.text()}, {"error", r.error().message},
                   {"effect", "list skipped for " + std::to_string(kRestAfterFailure.count()) + " s"}});
        co_return std::nullopt;
    }
    co_return r->addresses;
}

asio::awaitable<ConnectionFilter::DnsOutcome> ConnectionFilter::ask_dns_lists(net::IpAddress client) const {
    DnsOutcome out;
    std::string skipped;
    for (const config::DnsListProvider& p : settings_.allow_providers) {
        std::optional<std::vector<std::string>> answers = co_await lookup(p, client);
        if (!answers) {
            skipped += (skipped.empty() ? "" : ", ") + p.zone;
            continue;
        }
        if (auto a = counted_answer(*answers, {})) {
            out.at_connect = AgentVerdict::proceed("connection_filter.allow_providers",
                                                   client.text() + " is allow-listed by " + p.zone + " (" + *a + ")");
            out.at_connect.allow_listed = true;
            log::info("connection_filter.allow_listed", {{"client", client.text()}, {"zone", p.zone}, {"answer", *a},
                                                         {"effect", "anti-spam agents skipped for the session"}});
            co_return out;
        }
    }
    for (const config::DnsListProvider& p : settings_.block_providers) {
        std::optional<std::vector<std::string>> answers = co_await lookup(p, client);
        if (!answers) {
            skipped += (skipped.empty() ? "" : ", ") + p.zone;
            continue;
        }
        auto a = counted_answer(*answers, p.match);
        if (!a) {
            if (!answers->empty())
                log::event(log::Level::Debug, "connection_filter.dns_list.ignored",
                           {{"zone", p.zone}, {"client", client.text()}, {"answer", (*answers)[0]}, {"why", "not in match"}});
            continue;
        }
        smtp::Reply reply(550, "5.7.1", reply_safe("client " + client.text() + " is listed by " + p.zone));
        std::string reason = client.text() + " is listed by " + p.zone + " (" + *a + ")";
        if (settings_.refuse_at == config::RefuseAt::Connect) {
            out.at_connect = AgentVerdict::refuse(reply, "connection_filter.block_providers", reason);
        } else {
            out.rcpt_refusal = AgentVerdict::refuse(reply, "connection_filter.block_providers", reason);
            out.at_connect = AgentVerdict::proceed("connection_filter.block_providers", reason + "; every RCPT will be refused");
        }
        co_return out;
    }
    std::size_t lists = settings_.allow_providers.size() + settings_.block_providers.size();
    if (lists == 0) out.at_connect = AgentVerdict::proceed("", client.text() + " is on neither list");
    else
        out.at_connect = AgentVerdict::proceed("", client.text() + " is on no list (" + std::to_string(lists) + " DNS list(s) asked" +
                                                       (skipped.empty() ? "" : "; no answer from " + skipped + ", skipped") + ")");
    co_return out;
}

std::unique_ptr<AgentRun> ConnectionFilter::start(const SessionInfo& session) const {
    return std::make_unique<Run>(*this, session);
}

}  // namespace rampart::filter
