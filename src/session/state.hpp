// session/state.hpp — what the parts of one SMTP session share: the stream and its
// buffered I/O, the listener, the services, the policy facts learnt so far (TLS,
// principal) and the EHLO state. Owned by the session coroutine; no locks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/subscription.hpp"
#include "filter/chain.hpp"
#include "filter/reputation.hpp"
#include "policy/access.hpp"
#include "session/line_io.hpp"
#include "session/received.hpp"
#include "session/server_session.hpp"
#include "smtp/reply.hpp"
#include "tracking/tracking_id.hpp"

namespace rampart::session {

struct SessionState {
    std::shared_ptr<const std::vector<config::Domain>> live_domains;   // keeps facts.domains alive (edge)
    std::shared_ptr<const std::vector<config::SendConnector>> live_connectors;   // keeps facts.connectors alive (hub)
    SessionState(net::Stream& s, const config::Listener& l, ClientInfo c, const SessionServices& services)
        : stream(s), listener(l), svc(services), client(c), io(s) {
        facts.listener = &l;
        facts.domains = &services.config->domains;
        facts.connectors = &services.config->send_connectors;
        facts.client = c.address;
        if (services.edges) facts.edges = services.edges->get();
        if (l.filters && services.filters && !services.filters->empty())
        {
            filter::SessionInfo info{l.name, c.address, false, {}};
            info.client_port = c.port;
            chain = std::make_unique<filter::ChainRun>(*services.filters, std::move(info));
        }
    }

    // Asks the filter chain about `stage` (Continue when the listener runs no filters).
    // The chain sees the principal and TLS state as they are now.
    asio::awaitable<filter::ChainResult> run_filters(filter::Stage stage, filter::MessageView view) {
        if (!chain) co_return filter::ChainResult{};
        chain->set_principal(facts.principal);
        chain->set_tls(facts.tls);
        chain->set_tracking_id(tracking_id);
        co_return co_await chain->run(stage, view);
    }

    // Reports what this session saw of the client to the reputation table (filtered
    // listeners only; filter::Reputation exempts authenticated clients and allowed
    // addresses). Each kind of protocol offence counts once per session.
    // True if reported now (false: not applicable, or already reported this session).
    bool note_reputation(filter::Signal signal, int scl = 0) {
        if (!chain || !svc.reputation || !chain->allow_listed().empty()) return false;
        if (signal != filter::Signal::RefusedRecipient && signal != filter::Signal::Scl) {
            unsigned bit = 1u << static_cast<unsigned>(signal);
            if (reputation_noted & bit) return false;
            reputation_noted |= bit;
        }
        return svc.reputation->note(client.address, facts.principal, signal, scl).has_value();
    }

    // Queues a reply; permanent errors count towards limits.max_errors (except the fatal
    // 554/521 that end a session anyway).
    void reply(const smtp::Reply& r) {
        io.queue(r);
        if (r.permanent() && r.code != 554 && r.code != 521) ++errors;
    }
    asio::awaitable<void> close_after_fatal(const smtp::Reply& r) {
        co_await io.close_after_fatal(r);
        quit = true;
    }
    const std::string& hostname() const { return svc.config->server.hostname; }
    // limits.max_message_size counts what will be sent on: the client's message plus the
    // Received header we add (issue 14 item 9), so that a next hop with the same limit
    // does not refuse what we accepted. The largest message a client may send in this
    // session as it stands (TLS, principal, EHLO): announced with SIZE and checked against
    // MAIL's SIZE=; the end of data checks the real header.
    // XXX(races): headers that filter agents add later must be counted here too.
    // Remembered for the facts it was worked out from (measuring a Received header took
    // thousands of instructions, at EHLO and again at MAIL).
    std::uint64_t message_size_limit() const {
        const bool tls = stream.tls_active();
        std::string server_principal;
        if (facts.principal.kind == policy::Principal::Kind::Server) server_principal = facts.principal.text();
        if (!size_limit_.valid || size_limit_.helo != helo || size_limit_.tls != tls || size_limit_.server_principal != server_principal) {
            SizeLimitFacts f{helo, client_text(), hostname(), tls, server_principal};
            size_limit_ = {true, helo, tls, std::move(server_principal), session::message_size_limit(listener.limits.max_message_size, f)};
        }
        return size_limit_.value;
    }
    const std::string& client_text() const { return client_address_text; }
    // MAIL starts a message: the session's first keeps the id its connection got (so a
    // connect-stage verdict is filed with it), every later one gets a new id.
    void next_tracking_id() {
        if (tracking_id_used) tracking_id = tracking::new_tracking_id();
        tracking_id_used = true;
    }

    net::Stream& stream;
    const config::Listener& listener;
    const SessionServices& svc;
    ClientInfo client;
    std::string client_address_text = client.address.text();   // formatted once: dozens of uses per message
    struct SizeLimit {
        bool valid = false;
        std::string helo;
        bool tls = false;
        std::string server_principal;
        std::uint64_t value = 0;
    };
    mutable SizeLimit size_limit_;   // message_size_limit()'s last answer and its facts
    LineIo io;
    policy::SessionFacts facts;
    std::unique_ptr<filter::ChainRun> chain;   // null: filters off on this listener
    std::string helo;
    bool esmtp = false;
    bool quit = false;
    std::string helo_forged;          // why the last HELO/EHLO is forged (reported at MAIL)
    unsigned reputation_noted = 0;    // signals already reported this session (bits)
    unsigned errors = 0;
    // The message tracking id (tracking/tracking_id.hpp) of the transaction under way, in
    // its log events and its X-Rampart-Tracking-Id header.
    std::string tracking_id = tracking::new_tracking_id();
    bool tracking_id_used = false;
};

}  // namespace rampart::session
