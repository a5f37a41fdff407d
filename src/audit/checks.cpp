// audit/checks.cpp — the probes of `rampart audit` (see checks.hpp); the verdicts are in
// verdicts.cpp, so that what counts as open is tested without a network.
#include "audit/checks.hpp"

#include <random>

#include "audit/dialogue.hpp"
#include "audit/verdicts.hpp"
#include "net/tls.hpp"
#include "util/text.hpp"

namespace rampart::audit {

namespace {

// The relay battery reconnects after this many recipients: servers slow down or drop
// clients after some ten errors (Postfix smtpd_soft_error_limit, smtpd_hard_error_limit).
constexpr int kRefusalsPerConnection = 4;

std::string random_tag() {
    std::random_device rd;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 10; ++i) out += kHex[rd() % 16];
    return out;
}

std::vector<std::string> since(const Dialogue& d, std::size_t mark) {
    const auto& t = d.transcript();
    return std::vector<std::string>(t.begin() + static_cast<std::ptrdiff_t>(std::min(mark, t.size())), t.end());
}

Finding finding(std::string id, std::string title, Verdict v, std::vector<std::string> evidence, std::string fix) {
    return Finding{std::move(id), std::move(title), v.result, std::move(v.reason), std::move(evidence), std::move(fix)};
}

// A connection that greeted with 220 and answered EHLO (or HELO) with 250; otherwise null
// and `why` says what failed, `evidence` what was said.
struct Ready {
    std::unique_ptr<Dialogue> d;
    std::string why;
    std::vector<std::string> evidence;
    std::size_t start = 0;   // the transcript's length after EHLO: evidence starts here
};

asio::awaitable<Ready> open_ready(const Context& ctx) {
    Ready out;
    auto d = co_await Dialogue::open(ctx.ex, ctx.opt.host, ctx.opt.port, ctx.opt.timeout);
    if (!d) {
        out.why = "could not connect: " + d.error().message;
        co_return out;
    }
    if ((*d)->greeting().code != 220) {
        out.why = "the server did not greet with 220";
        out.evidence = (*d)->transcript();
        co_return out;
    }
    Reply e = co_await (*d)->ehlo(ctx.opt.helo);
    if (e.code != 250) {
        out.why = "EHLO and HELO were refused";
        out.evidence = (*d)->transcript();
        co_return out;
    }
    out.start = (*d)->transcript().size();
    out.d = std::move(*d);
    co_return out;
}

Finding not_tried(std::string id, std::string title, const Ready& r, std::string fix) {
    return finding(std::move(id), std::move(title), {Outcome::Inconclusive, r.why}, r.evidence, std::move(fix));
}

const char* const kRelayFix =
    "relay only for authenticated users and listed networks; refuse every other recipient outside the domains the "
    "server receives for, judging the address after rewriting (Postfix: smtpd_relay_restrictions = "
    "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination; keep mynetworks small; "
    "allow_percent_hack = no, swap_bangpath = no)";

}  // namespace

Finding check_auth_in_clear(const Context& ctx) {
    std::string mechs = clear_text_auth(ctx.ehlo);
    Verdict v = mechs.empty() ? Verdict{Outcome::Ok, "EHLO in clear offers no PLAIN or LOGIN authentication"}
                              : Verdict{Outcome::Open, "EHLO in clear offers AUTH " + mechs +
                                                           ": passwords may be sent unencrypted"};
    return finding("auth_before_tls", "AUTH PLAIN/LOGIN offered before TLS", v, ctx.ehlo_transcript,
                   "offer password authentication only after STARTTLS or on implicit TLS (Postfix: "
                   "smtpd_tls_auth_only = yes)");
}

asio::awaitable<std::vector<Finding>> check_relay(const Context& ctx) {
    std::vector<Finding> out;
    struct Sender {
        std::string id, path, title;
    };
    const std::vector<Sender> senders = {
        {"foreign_sender", ctx.opt.from, "from " + ctx.opt.from},
        {"own_domain_sender", "rampart-audit@" + ctx.opt.to_domain, "from the server's own domain"},
        {"null_sender", "", "from the null sender"},
    };
    Ready r = co_await open_ready(ctx);
    if (!r.d) {
        out.push_back(not_tried("relay", "open relay battery", r, kRelayFix));
        co_return out;
    }
    // Control: a random local part at the server's own domain. Accepted means recipients
    // are not checked at RCPT, so an accepted trick at that domain proves nothing.
    bool accepts_any = false;
    {
        Reply m = co_await r.d->command("MAIL FROM:<" + ctx.opt.from + ">");
        if (m.code / 100 == 2) {
            Reply rc = co_await r.d->command("RCPT TO:<rampart-audit-" + random_tag() + "@" + ctx.opt.to_domain + ">");
            accepts_any = rc.code / 100 == 2;
        }
        co_await r.d->command("RSET");
    }
    const std::vector<RelayCase> cases = relay_cases(ctx.opt.to_domain, ctx.opt.foreign_domain, r.d->peer_address(), ctx.opt.mx_domain);
    int refusals = kRefusalsPerConnection;   // the control's: start the battery on a new connection
    for (const Sender& s : senders) {
        for (const RelayCase& c : cases) {
            std::string id = "relay." + c.id + "." + s.id;
            std::string title = "relay to " + c.title + ", " + s.title;
            Finding result;
            // A case that lost its connection (421, closed) is tried once more on a new one.
            for (int attempt = 0; attempt < 2; ++attempt) {
                if (!r.d || refusals >= kRefusalsPerConnection) {
                    if (r.d) co_await r.d->quit_and_drain();
                    r = co_await open_ready(ctx);
                    refusals = 0;
                }
                if (!r.d) {
                    result = not_tried(id, title, r, kRelayFix);
                    break;
                }
                std::size_t mark = r.d->transcript().size();
                Reply m = co_await r.d->command("MAIL FROM:<" + s.path + ">");
                Reply rc;
                if (m.code / 100 == 2) rc = co_await r.d->command("RCPT TO:<" + c.recipient + ">");
                Reply rs = co_await r.d->command("RSET");
                refusals += (m.code >= 400) + (rc.code >= 400);
                bool lost = m.code == 0 || m.code == 421 || rc.code == 421 || rs.code == 0 || rs.code == 421;
                result = finding(id, title, relay_verdict(m.code, rc.code, c.at_own_domain, accepts_any), since(*r.d, mark),
                                 kRelayFix);
                if (lost) r.d.reset();
                if (!lost || rc.code / 100 == 2 || (m.code != 0 && m.code != 421 && rc.code != 421)) break;
            }
            out.push_back(std::move(result));
        }
    }
    if (r.d) co_await r.d->quit_and_drain();
    co_return out;
}

asio::awaitable<std::vector<Finding>> check_smuggling(const Context& ctx) {
    std::vector<Finding> out;
    const char* fix =
        "accept only CR LF . CR LF as the end of data and refuse bare LF and bare CR in messages and commands "
        "(Postfix >= 3.5.23/3.6.13/3.7.9/3.8.4: smtpd_forbid_bare_newline = normalize (or yes), and "
        "smtpd_data_restrictions = reject_unauth_pipelining)";
    if (!ctx.opt.send_data) {
        out.push_back(finding("smuggling", "SMTP smuggling (end-of-data look-alikes)",
                              {Outcome::Inconclusive,
                               "not tried: the test sends real messages (to " + ctx.opt.to + "); run with --send-data to allow it"},
                              {}, fix));
        co_return out;
    }
    for (const SmuggleVariant& variant : smuggling_variants()) {
        std::string id = "smuggling." + variant.id;
        std::string title = "SMTP smuggling: a MAIL FROM after '" + util::display_escape(variant.bytes) + "' in the data";
        Ready r = co_await open_ready(ctx);
        if (!r.d) {
            out.push_back(not_tried(id, title, r, fix));
            continue;
        }
        Reply m = co_await r.d->command("MAIL FROM:<" + ctx.opt.from + ">");
        Reply rc, data;
        if (m.code / 100 == 2) rc = co_await r.d->command("RCPT TO:<" + ctx.opt.to + ">");
        if (rc.code / 100 == 2) data = co_await r.d->command("DATA");
        if (data.code != 354) {
            co_await r.d->quit_and_drain();
            out.push_back(finding(id, title,
                                  {Outcome::Inconclusive, "the server did not take a message to " + ctx.opt.to +
                                                              " (give --to an address it accepts)"},
                                  since(*r.d, r.start), fix));
            continue;
        }
        // The smuggled MAIL FROM starts no second message by itself (no RCPT, no DATA
        // follow): a vulnerable server answers it, a safe one keeps it in the body.
        std::string body = "From: <" + ctx.opt.from + ">\r\nTo: <" + ctx.opt.to +
                           ">\r\nSubject: rampart audit: SMTP smuggling probe " + variant.id +
                           "\r\n\r\nThis message was sent by rampart audit --send-data.\r\nprobe" + variant.bytes +
                           "MAIL FROM:<" + ctx.opt.from + ">\r\n.\r\n";
        co_await r.d->send(body);
        Reply end = co_await r.d->read();
        std::vector<int> extra;
        if (end.code != 0) {
            std::vector<Reply> after = co_await r.d->quit_and_drain();
            for (const Reply& x : after) extra.push_back(x.code);
        }
        Verdict v = end.code == 0 ? Verdict{Outcome::Inconclusive, "no reply to the end of data"}
                                  : unexpected_replies_verdict(extra, "the MAIL FROM smuggled after a fake end of data");
        out.push_back(finding(id, title, v, since(*r.d, r.start), fix));
    }
    co_return out;
}

asio::awaitable<Finding> check_starttls_injection(const Context& ctx) {
    const std::string id = "starttls_injection", title = "STARTTLS command injection (a command pipelined behind STARTTLS)";
    const char* fix =
        "discard everything received in clear after STARTTLS before the handshake (CVE-2011-0411; Postfix fixed this "
        "in 2.8; upgrade the server)";
    if (!ehlo_has(ctx.ehlo, "STARTTLS"))
        co_return finding(id, title, {Outcome::Inconclusive, "STARTTLS is not offered, so there is nothing to inject into"},
                          ctx.ehlo_transcript, fix);
    Ready r = co_await open_ready(ctx);
    if (!r.d) co_return not_tried(id, title, r, fix);
    co_await r.d->send("STARTTLS\r\nNOOP\r\n");
    Reply go = co_await r.d->read();
    if (go.code != 220)
        co_return finding(id, title, {Outcome::Inconclusive, "STARTTLS was not answered with 220"}, since(*r.d, r.start), fix);
    auto tls = net::make_client_context(false);
    if (!co_await r.d->start_tls(*tls, ctx.opt.host))
        co_return finding(id, title, {Outcome::Inconclusive, "the TLS handshake failed"}, since(*r.d, r.start), fix);
    std::vector<int> extra;
    std::vector<Reply> after = co_await r.d->quit_and_drain();
    for (const Reply& x : after) extra.push_back(x.code);
    co_return finding(id, title, unexpected_replies_verdict(extra, "the NOOP sent in clear behind STARTTLS, inside TLS"),
                      since(*r.d, r.start), fix);
}

asio::awaitable<Finding> check_bare_lf(const Context& ctx) {
    const std::string id = "bare_lf_commands", title = "bare LF taken as the end of a command line";
    const char* fix =
        "require CR LF at the end of every command line (RFC 5321 §2.3.8) (Postfix: smtpd_forbid_bare_newline = "
        "normalize or yes)";
    Ready r = co_await open_ready(ctx);
    if (!r.d) co_return not_tried(id, title, r, fix);
    // A strict server reads one line "RSET\nNOOP" and answers once; a lenient one answers
    // RSET and NOOP.
    co_await r.d->send("RSET\nNOOP\r\n");
    Reply first = co_await r.d->read();
    if (first.code == 0)
        co_return finding(id, title, {Outcome::Inconclusive, "no reply"}, since(*r.d, r.start), fix);
    std::vector<int> extra;
    std::vector<Reply> after = co_await r.d->quit_and_drain();
    for (const Reply& x : after) extra.push_back(x.code);
    co_return finding(id, title, bare_lf_verdict(first.code, extra), since(*r.d, r.start), fix);
}

asio::awaitable<std::vector<Finding>> check_vrfy_expn(const Context& ctx) {
    std::vector<Finding> out;
    const char* vrfy_fix = "answer VRFY with 252 for every name, or not at all (Postfix: disable_vrfy_command = yes)";
    const char* expn_fix = "do not expand lists for strangers (Postfix does not implement EXPN; sendmail: "
                           "PrivacyOptions=noexpn)";
    Ready r = co_await open_ready(ctx);
    if (!r.d) {
        out.push_back(not_tried("vrfy", "VRFY discloses which addresses exist", r, vrfy_fix));
        out.push_back(not_tried("expn", "EXPN discloses list members", r, expn_fix));
        co_return out;
    }
    Reply known = co_await r.d->command("VRFY postmaster@" + ctx.opt.to_domain);
    Reply unknown = co_await r.d->command("VRFY rampart-audit-" + random_tag() + "@" + ctx.opt.to_domain);
    out.push_back(finding("vrfy", "VRFY discloses which addresses exist", vrfy_verdict(known.code, unknown.code),
                          since(*r.d, r.start), vrfy_fix));
    std::size_t mark = r.d->transcript().size();
    Reply expn = co_await r.d->command("EXPN postmaster@" + ctx.opt.to_domain);
    out.push_back(finding("expn", "EXPN discloses list members", expn_verdict(expn.code), since(*r.d, mark), expn_fix));
    co_await r.d->quit_and_drain();
    co_return out;
}

asio::awaitable<Finding> check_pipelining(const Context& ctx) {
    const std::string id = "unauth_pipelining", title = "message data sent before the 354 reply is accepted";
    const char* fix =
        "refuse DATA when message data arrives before the 354 reply (RFC 2920 §3.1: DATA ends a pipelined group) "
        "(Postfix: smtpd_data_restrictions = reject_unauth_pipelining)";
    Ready r = co_await open_ready(ctx);
    if (!r.d) co_return not_tried(id, title, r, fix);
    Reply m = co_await r.d->command("MAIL FROM:<" + ctx.opt.from + ">");
    Reply rc;
    if (m.code / 100 == 2) rc = co_await r.d->command("RCPT TO:<" + ctx.opt.to + ">");
    if (rc.code / 100 != 2)
        co_return finding(id, title,
                          {Outcome::Inconclusive,
                           "the server did not accept " + ctx.opt.to + " (give --to an address it accepts)"},
                          since(*r.d, r.start), fix);
    co_await r.d->send("DATA\r\nSubject: rampart audit pipelining probe\r\n");
    Reply data = co_await r.d->read();
    // Never end the data: closing inside DATA aborts the transaction, so nothing is delivered.
    r.d->note("connection closed inside the data: the transaction is aborted, nothing is delivered");
    Verdict v = data.code == 354 ? Verdict{Outcome::Open, "the server answered 354 although the data came before it"}
                : data.code == 0 ? Verdict{Outcome::Inconclusive, "no reply to DATA"}
                                 : Verdict{Outcome::Ok, "DATA was refused because the data came before the 354"};
    co_return finding(id, title, v, since(*r.d, r.start), fix);
}

}  // namespace rampart::audit
