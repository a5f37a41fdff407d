// audit/audit.cpp — runs the checks of `rampart audit` in turn (see audit.hpp).
#include "audit/audit.hpp"

#include "audit/checks.hpp"
#include "audit/dialogue.hpp"
#include "audit/verdicts.hpp"
#include "util/text.hpp"

namespace rampart::audit {

asio::awaitable<Result<Report>> run(asio::any_io_executor ex, Options opt) {
    Report report;
    report.target = (opt.host.find(':') != std::string::npos ? "[" + opt.host + "]" : opt.host) + ":" + std::to_string(opt.port);
    auto first = co_await Dialogue::open(ex, opt.host, opt.port, opt.timeout);
    if (!first) co_return first.error();
    Dialogue& d = **first;
    if (!d.greeting().lines.empty()) report.greeting = util::display_escape(d.greeting().lines.front());
    if (d.greeting().code != 220) co_return Error{0, report.target + " refused the connection: " + report.greeting};
    if (opt.to_domain.empty()) opt.to_domain = domain_from_greeting(d.greeting().text);
    if (opt.to_domain.empty())
        co_return Error{0, "the greeting names no domain (" + report.greeting + "): give --to-domain"};
    if (opt.to.empty()) opt.to = "postmaster@" + opt.to_domain;
    Reply ehlo = co_await d.ehlo(opt.helo);
    if (ehlo.code != 250) co_return Error{0, report.target + " refused EHLO and HELO"};
    Context ctx{ex, opt, ehlo.lines, d.transcript()};
    co_await d.quit_and_drain();

    report.findings.push_back(check_auth_in_clear(ctx));
    std::vector<Finding> relay = co_await check_relay(ctx);
    for (Finding& f : relay) report.findings.push_back(std::move(f));
    report.findings.push_back(co_await check_starttls_injection(ctx));
    report.findings.push_back(co_await check_bare_lf(ctx));
    std::vector<Finding> vrfy_expn = co_await check_vrfy_expn(ctx);
    for (Finding& f : vrfy_expn) report.findings.push_back(std::move(f));
    report.findings.push_back(co_await check_pipelining(ctx));
    std::vector<Finding> smuggling = co_await check_smuggling(ctx);
    for (Finding& f : smuggling) report.findings.push_back(std::move(f));
    co_return report;
}

}  // namespace rampart::audit
