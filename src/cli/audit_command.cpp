// cli/audit_command.cpp — `rampart audit HOST[:PORT]`: parses the target, runs
// audit::run on an io_context of its own and prints the report (text or JSON).
// Exit: 1 if a finding is open, 0 if none, 2 on a usage or connection error.
#include <charconv>
#include <iostream>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include "audit/audit.hpp"
#include "cli/commands.hpp"

namespace rampart::cli {

namespace {

// "host", "host:port", "[v6]", "[v6]:port", "v6" (more than one ':' and no brackets).
bool parse_target(const std::string& target, std::string& host, std::uint16_t& port) {
    std::string p;
    if (!target.empty() && target.front() == '[') {
        std::size_t close = target.find(']');
        if (close == std::string::npos) return false;
        host = target.substr(1, close - 1);
        std::string rest = target.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            p = rest.substr(1);
        }
    } else if (std::count(target.begin(), target.end(), ':') == 1) {
        host = target.substr(0, target.find(':'));
        p = target.substr(target.find(':') + 1);
    } else {
        host = target;
    }
    if (host.empty()) return false;
    if (p.empty()) return true;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (ec != std::errc() || end != p.data() + p.size() || value == 0 || value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
    return true;
}

}  // namespace

int audit_command(const AuditArgs& args) {
    audit::Options opt;
    if (!parse_target(args.target, opt.host, opt.port)) {
        std::cerr << "audit: bad target '" << args.target << "': give HOST, HOST:PORT or [IPv6]:PORT\n";
        return kConfigError;
    }
    if (!args.from.empty()) opt.from = args.from;
    if (!args.helo.empty()) opt.helo = args.helo;
    opt.to_domain = args.to_domain;
    opt.to = args.to;
    if (!args.foreign_domain.empty()) opt.foreign_domain = args.foreign_domain;
    opt.mx_domain = args.mx_domain;
    opt.send_data = args.send_data;
    if (args.timeout_seconds <= 0 || args.timeout_seconds > 600) {
        std::cerr << "audit: --timeout must be between 1 and 600 seconds\n";
        return kConfigError;
    }
    opt.timeout = std::chrono::seconds(args.timeout_seconds);
    for (const std::string* a : {&opt.from, &opt.to, &opt.to_domain, &opt.helo, &opt.foreign_domain, &opt.mx_domain})
        if (a->find_first_of("\r\n<> \t") != std::string::npos) {
            std::cerr << "audit: '" << *a << "' holds a space, a line break or < >\n";
            return kConfigError;
        }

    asio::io_context io;
    auto future = asio::co_spawn(io, audit::run(io.get_executor(), opt), asio::use_future);
    io.run();
    Result<audit::Report> report = future.get();
    if (!report) {
        std::cerr << "audit: " << report.error().message << "\n";
        return kConfigError;
    }
    std::cout << (args.json ? audit::render_json(*report) : audit::render_text(*report, args.verbose));
    return audit::exit_code(*report);
}

}  // namespace rampart::cli
