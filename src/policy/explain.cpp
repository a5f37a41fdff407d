// policy/explain.cpp — renders the traces of the live decision functions: connection
// limits, check_connection, check_mail (SIZE= included), check_rcpt (max_recipients
// included), the hourly limits, check_data (hop count). Command lines go through the live
// parser (smtp::parse_command) with the flags a live session would have, so an address that
// needs SMTPUTF8 is refused here exactly when it is refused live.
#include "policy/explain.hpp"

#include <algorithm>

#include "smtp/command_parser.hpp"

namespace rampart::policy {
namespace {

std::string bracket(const std::string& a) {
    if (!a.empty() && a.front() == '<') return a;
    return "<" + a + ">";
}

void render_steps(std::string& out, const Trace& t) {
    std::size_t width = 0;
    for (const TraceStep& s : t.steps) width = std::max(width, s.rule.size());
    for (const TraceStep& s : t.steps) {
        std::string rule(s.rule);
        rule.resize(width, ' ');
        std::string verdict(verdict_name(s.decision.verdict));
        verdict.resize(6, ' ');
        out += "  " + rule + "  " + verdict + "  " + s.decision.note + "\n";
    }
}

void render_final(std::string& out, const smtp::Reply& reply, std::string_view rule) {
    out += "  => " + reply.summary() + "   [decided by " + std::string(rule) + "]\n";
}

void render(std::string& out, const Trace& t, const Decision& final) {
    render_steps(out, t);
    render_final(out, final.reply, final.rule);
}

}  // namespace

std::string explain_mail_line(const ExplainQuestion& q) {
    std::string line = "MAIL FROM:" + bracket(q.mail_from);
    if (q.size) line += " SIZE=" + std::to_string(*q.size);
    if (q.smtputf8) line += " SMTPUTF8";
    return line;
}

std::string explain_rcpt_line(const std::string& rcpt) { return "RCPT TO:" + bracket(rcpt); }

ExplainAnswer explain(const ExplainQuestion& q, ExplainStages* stages) {
    ExplainAnswer a;
    const SessionFacts& f = q.facts;
    auto reply = [&](std::string command, const smtp::Reply& r, std::string_view rule) {
        a.replies.push_back({std::move(command), r, std::string(rule)});
    };
    a.text = "listener " + f.listener->name + ", client " + f.client.text() + ", principal " + f.principal.text() +
             ", tls " + (f.tls ? "yes" : "no") + "\n\nconnection\n";
    // A live-only or limit step: its trace, and if it refused, the final line, the reply
    // and the result (true: explain ends there).
    auto refused_at = [&](std::string command, const Trace& t, const Decision& d, std::string_view result) {
        render_steps(a.text, t);
        if (d.verdict != Verdict::Refuse) return false;
        render_final(a.text, d.reply, d.rule);
        reply(std::move(command), d.reply, d.rule);
        a.text += "\nresult: " + std::string(result) + "; no recipient accepted\n";
        return true;
    };
    // The acceptor's limits come first, before the filter chain and the access rules.
    Trace lt;
    std::optional<ConnectionCounts> counts;
    if (q.live) counts = q.live->connections;
    Decision limits = check_connection_limits(*f.listener, q.hostname, counts, &lt);
    if (refused_at("connect", lt, limits, "connection refused")) return a;
    if (stages) {
        Decision sd = stages->connect(f, a.text);
        if (sd.verdict == Verdict::Refuse) {
            reply("connect", sd.reply, sd.rule);
            a.text += "\nresult: connection refused; no recipient accepted\n";
            return a;
        }
    }
    Trace ct;
    Decision conn = check_connection(f, &ct);
    render(a.text, ct, conn);
    reply("connect", conn.reply, conn.rule);
    if (conn.verdict == Verdict::Refuse) {
        a.text += "\nresult: connection refused; no recipient accepted\n";
        return a;
    }
    if (f.principal.kind == Principal::Kind::User) {
        a.text += "\nAUTH as " + f.principal.text() + "\n";
        Trace at;
        std::optional<std::chrono::milliseconds> left;
        if (q.live) left = q.live->locked;
        Decision auth = auth_lockout_step(f, left, &at);
        if (refused_at("AUTH", at, auth, "authentication refused")) return a;
    }
    // The hourly limits on the running server's counts, this transaction's share added
    // (what Brakes::Reservation holds live); nullopt offline.
    auto hourly = [&](std::uint64_t held_messages, std::uint64_t held_recipients, std::uint32_t messages,
                      std::uint32_t recipients) -> std::optional<Brakes::Limit> {
        if (!q.live) return std::nullopt;
        Brakes::Usage used{q.live->usage.messages + held_messages, q.live->usage.recipients + held_recipients};
        return Brakes::exceeds(used, messages, recipients, f.listener->limits);
    };
    // MAIL goes through the live parser: SIZE= and SMTPUTF8 as a client would send them.
    std::string mail_line = explain_mail_line(q);
    smtp::Command mail_cmd = smtp::parse_command(mail_line, false);
    a.text += "\n" + mail_line + "\n";
    if (mail_cmd.error) {
        render_final(a.text, *mail_cmd.error, "command syntax");
        reply("MAIL", *mail_cmd.error, "command syntax");
        a.text += "\nresult: sender refused; no recipient accepted\n";
        return a;
    }
    const smtp::Path& sender_path = mail_cmd.path;
    Trace mt;
    Decision mail = check_mail(f, sender_path, MailFacts{mail_cmd.mail.size, q.size_limit}, &mt);
    render(a.text, mt, mail);
    if (mail.verdict == Verdict::Refuse) {
        reply("MAIL", mail.reply, mail.rule);
        a.text += "\nresult: sender refused; no recipient accepted\n";
        return a;
    }
    // Back pressure: after the MAIL rules, before the filter chain, as live (live-only).
    Trace bt;
    Decision pressure = check_back_pressure(f, q.back_pressure, q.live ? q.live->pressure : std::nullopt, &bt);
    if (refused_at("MAIL", bt, pressure, "sender refused")) return a;
    if (stages) {
        Decision sd = stages->mail(f, sender_path, a.text);
        if (sd.verdict == Verdict::Refuse) {
            reply("MAIL", sd.reply, sd.rule);
            a.text += "\nresult: sender refused; no recipient accepted\n";
            return a;
        }
    }
    Trace ht;
    Decision hour = check_hourly_limit(f, false, hourly(0, 0, 1, 0), &ht);
    if (refused_at("MAIL", ht, hour, "sender refused")) return a;
    reply("MAIL", mail.reply, mail.rule);
    std::size_t accepted = 0;
    std::vector<std::string> accepted_rcpts;   // as the live transaction hands them to the chain
    for (const std::string& r : q.rcpts) {
        std::string rcpt_line = explain_rcpt_line(r);
        std::string command = "RCPT " + bracket(r);
        a.text += "\n" + rcpt_line + "\n";
        smtp::Command rcpt_cmd = smtp::parse_command(rcpt_line, mail_cmd.mail.smtputf8);
        if (rcpt_cmd.error) {
            render_final(a.text, *rcpt_cmd.error, "command syntax");
            reply(command, *rcpt_cmd.error, "command syntax");
            continue;
        }
        const smtp::Path& rcpt = rcpt_cmd.path;
        Trace rt;
        Decision d = check_rcpt(f, sender_path, rcpt, accepted, &rt);
        render(a.text, rt, d);
        smtp::Reply final = d.reply;
        std::string rule(d.rule);
        if ((d.verdict == Verdict::Accept || unknown_recipient(d)) && stages) {
            Decision sd = stages->rcpt(f, sender_path, rcpt, a.text);
            if (sd.verdict == Verdict::Refuse) {
                reply(command, sd.reply, sd.rule);
                continue;
            }
        }
        if (d.verdict == Verdict::Accept) {
            Trace hr;
            Decision h = check_hourly_limit(f, true, hourly(1, accepted, 0, 1), &hr);
            render_steps(a.text, hr);
            if (h.verdict == Verdict::Refuse) {
                render_final(a.text, h.reply, h.rule);
                reply(command, h.reply, h.rule);
                continue;
            }
            ++accepted;
            accepted_rcpts.push_back(rcpt.mailbox.text());
        }
        reply(command, final, rule);
    }
    bool data_ok = true;
    if (accepted > 0 && q.received_headers) {
        a.text += "\nend of data (" + std::to_string(*q.received_headers) + " Received header fields)\n";
        Trace dt;
        Decision d = check_data(f, *q.received_headers, &dt);
        render_steps(a.text, dt);
        if (d.verdict == Verdict::Refuse) {
            render_final(a.text, d.reply, d.rule);
            reply("DATA", d.reply, d.rule);
            data_ok = false;
        }
    }
    if (accepted > 0 && data_ok && stages) {
        if (!q.received_headers) a.text += "\nend of data\n";
        Decision d = stages->data(f, sender_path, accepted_rcpts, a.text);
        if (d.verdict == Verdict::Refuse) {
            reply("DATA", d.reply, d.rule);
            data_ok = false;
        }
    }
    a.all_accepted = !q.rcpts.empty() && accepted == q.rcpts.size() && data_ok;
    a.text += "\nresult: " + std::to_string(accepted) + " of " + std::to_string(q.rcpts.size()) + " recipient(s) accepted";
    if (!data_ok) a.text += ", message refused at the end of data";
    a.text += "\n";
    return a;
}

}  // namespace rampart::policy
