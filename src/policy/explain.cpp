// policy/explain.cpp — renders check_connection / check_mail / check_rcpt traces.
#include "policy/explain.hpp"

#include <algorithm>

namespace rampart::policy {
namespace {

std::string bracket(const std::string& a) {
    if (!a.empty() && a.front() == '<') return a;
    return "<" + a + ">";
}

void render(std::string& out, const Trace& t, const Decision& final) {
    std::size_t width = 0;
    for (const TraceStep& s : t.steps) width = std::max(width, s.rule.size());
    for (const TraceStep& s : t.steps) {
        std::string rule(s.rule);
        rule.resize(width, ' ');
        std::string verdict(verdict_name(s.decision.verdict));
        verdict.resize(6, ' ');
        out += "  " + rule + "  " + verdict + "  " + s.decision.note + "\n";
    }
    out += "  => " + final.reply.summary() + "   [decided by " + std::string(final.rule) + "]\n";
}

}  // namespace

ExplainAnswer explain(const ExplainQuestion& q, ExplainStages* stages) {
    ExplainAnswer a;
    const SessionFacts& f = q.facts;
    a.text = "listener " + f.listener->name + ", client " + f.client.text() + ", principal " + f.principal.text() +
             ", tls " + (f.tls ? "yes" : "no") + "\n\nconnection\n";
    if (stages && stages->connect(f, a.text).verdict == Verdict::Refuse) {
        a.text += "\nresult: connection refused; no recipient accepted\n";
        return a;
    }
    Trace ct;
    Decision conn = check_connection(f, &ct);
    render(a.text, ct, conn);
    if (conn.verdict == Verdict::Refuse) {
        a.text += "\nresult: connection refused; no recipient accepted\n";
        return a;
    }
    std::string from = bracket(q.mail_from);
    smtp::PathResult sender = smtp::parse_path(from, smtp::PathKind::Reverse, true, nullptr);
    a.text += "\nMAIL FROM:" + from + "\n";
    if (auto* err = std::get_if<smtp::AddressError>(&sender)) {
        a.text += "  => " + std::to_string(err->code) + " " + err->enhanced + " " + err->message + "   [address syntax]\n";
        a.text += "\nresult: sender refused; no recipient accepted\n";
        return a;
    }
    const smtp::Path& sender_path = std::get<smtp::Path>(sender);
    Trace mt;
    Decision mail = check_mail(f, sender_path, &mt);
    render(a.text, mt, mail);
    if (mail.verdict == Verdict::Refuse || (stages && stages->mail(f, sender_path, a.text).verdict == Verdict::Refuse)) {
        a.text += "\nresult: sender refused; no recipient accepted\n";
        return a;
    }
    std::size_t accepted = 0;
    for (const std::string& r : q.rcpts) {
        std::string to = bracket(r);
        a.text += "\nRCPT TO:" + to + "\n";
        smtp::PathResult rcpt = smtp::parse_path(to, smtp::PathKind::Forward, true, nullptr);
        if (auto* err = std::get_if<smtp::AddressError>(&rcpt)) {
            a.text += "  => " + std::to_string(err->code) + " " + err->enhanced + " " + err->message + "   [address syntax]\n";
            continue;
        }
        Trace rt;
        Decision d = check_rcpt(f, sender_path, std::get<smtp::Path>(rcpt), &rt);
        render(a.text, rt, d);
        if ((d.verdict == Verdict::Accept || unknown_recipient(d)) && stages &&
            stages->rcpt(f, sender_path, std::get<smtp::Path>(rcpt), a.text).verdict == Verdict::Refuse)
            continue;
        if (d.verdict == Verdict::Accept) ++accepted;
    }
    a.all_accepted = !q.rcpts.empty() && accepted == q.rcpts.size();
    a.text += "\nresult: " + std::to_string(accepted) + " of " + std::to_string(q.rcpts.size()) + " recipient(s) accepted\n";
    return a;
}

}  // namespace rampart::policy
