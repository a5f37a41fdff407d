// cli/console_ops.cpp — the console's operations services (see the header).
#include "cli/console_ops.hpp"

#include "cli/commands.hpp"
#include "directory/directory.hpp"
#include "util/log.hpp"

namespace rampart::cli {

void fill_ops_services(console::Services& s, const OpsServices& ops) {
    s.spool = ops.spool;
    s.tracking_file = ops.tracking_file;
    s.explain = [config = s.config, live = s.directory, brakes = s.brakes, ops](const console::ExplainRequest& r) {
        console::ExplainResult none;
        auto cfg = config ? config() : nullptr;
        auto d = live ? live->get() : nullptr;
        if (!cfg || !d) {
            none.error = "no configuration or directory loaded";
            return none;
        }
        ExplainArgs args;
        args.listener = r.listener;
        args.client_ip = r.client;
        args.user = r.user;
        args.mail_from = r.sender;
        args.rcpts = r.rcpts;
        args.smtputf8 = r.smtputf8;
        args.tls = r.tls;
        log::QuietScope quiet;   // an imagined session: no verdicts in the log or the tracking store
        return run_explain(*cfg, args, std::move(d), [ops, brakes](const std::string& request) -> std::optional<std::string> {
            if (!ops.server || !brakes || !ops.back_pressure) return std::nullopt;
            return live_state_answer(*ops.server, *brakes, *ops.back_pressure, request);
        });
    };
}

}  // namespace rampart::cli
