// config/default_config.cpp — the configuration `rampart serve` uses without -c: the
// all-in-one role on loopback, mail for example.test delivered to Maildir under ./var.
#include "config/load.hpp"

namespace rampart::config {

std::string_view default_config_text() {
    return R"(# rampart embedded default configuration (print it with `rampart default-config`).
# All-in-one role on loopback: SMTP on 127.0.0.1:2525, mail for example.test is
# delivered to Maildir under var/mail/example.test/<user>/. Nobody may relay.
[server]
role = "all-in-one"
hostname = "localhost"
data_dir = "var"

[[domains]]
name = "example.test"
type = "authoritative"

[[listeners]]
name = "default"
bind = ["127.0.0.1:2525"]
tls = "starttls"
)";
}

}  // namespace rampart::config
