// config/check.hpp — `rampart check` as a best-practice analyser (DESIGN.md §4), and the
// one definition of an open relay that load() refuses.
// Pure: a loaded Config in, findings out. The analysis is a table of settings, each with
// how to show its value and the exposure a departure from the role preset creates.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace rampart::config {

// Why this listener is an open relay (a relay rule admits any address, or a large part of
// the Internet), or "" if it is not. relay.force_open_relay does not change the answer.
std::string open_relay(const Listener& l);

// True if `ranges` (empty: any) admit an address outside the private, loopback and
// link-local blocks: the default of `internet_facing`.
bool admits_public_addresses(const std::vector<net::Cidr>& ranges);

enum class Severity {
    Info,       // a departure that is stricter than the preset, or a narrow explicit grant
    Exposure,   // a departure that widens who may send or relay, or weakens a brake
    Danger,     // an open relay, forced
};

struct Finding {
    std::string listener;    // the listener's name; empty for a send connector's finding
    std::string connector;   // the send connector's name, for its findings
    std::string setting;     // "relay.allow_authenticated", as in the configuration
    std::string value;       // as configured
    std::string preset;      // the role preset's value
    Severity severity = Severity::Info;
    std::string text;        // the exposure, or why it is harmless
    std::string section;     // a top-level table's finding ("antivirus"); listener and connector empty
};

// Every departure of every listener from its role preset, in listener and table order,
// then the send connectors' departures from the defaults that widen exposure, then the
// filter tables' (antivirus.on_error = "accept").
std::vector<Finding> analyse(const Config& c);

// One row of the departure table for listener `l` of `c`: the setting, its value and the
// role preset's, as `rampart check` shows them (the web console's listener page).
struct SettingValue {
    std::string setting;     // "relay.allow_authenticated"
    std::string value;
    std::string preset;
};
std::vector<SettingValue> listener_values(const Config& c, const Listener& l);

// The two lines `rampart check` prints for one listener's finding (severity, setting,
// value and preset; then the text, indented).
std::string render_finding(const Finding& f);

// The report `rampart check` prints.
std::string render_findings(const Config& c, const std::vector<Finding>& findings);

std::string_view severity_name(Severity s);

}  // namespace rampart::config
