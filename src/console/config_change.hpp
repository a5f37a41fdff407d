// console/config_change.hpp — one change of a listener's settings made from the web
// console, as a transaction on the configuration file: the file must be the one the form
// was made from (its hash), the edit is made to its TOML text (config/edit.hpp), the whole
// new text must pass the loader (config::load_text: the open-relay refusal and every other
// check, as at start), then it is written atomically (mode and owner kept) and applied by
// the same reload as SIGHUP. Sessions in progress keep their generation.
// Trust: the edits come from a signed-in administrator's form (the console's gate); their
// values are escaped by the editor and judged by the loader. Nothing is written unless the
// loader accepts the whole file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/check.hpp"
#include "config/edit.hpp"
#include "console/console.hpp"

namespace rampart::console {

// The configuration file's fingerprint, sent with each form (SHA-256, hex).
std::string text_hash(std::string_view text);

struct ConfigChange {
    std::string listener;
    std::vector<config::ListenerEdit> edits;
    std::string form_hash;    // text_hash of the file when the form was shown
};

struct ChangeOutcome {
    enum Status {
        Applied,       // written and reloaded
        Unchanged,     // the form changed nothing
        Refused,       // nothing written: `message` says why (the loader's errors, a stale form, ...)
        Stale,         // nothing written: the file changed since the form was shown
        NotApplied,    // written, but the reload failed: `message`
    } status = Refused;
    std::string message;
    struct Setting {
        std::string setting, before, after;   // as `rampart check` shows values
    };
    std::vector<Setting> changed;
    std::vector<config::Finding> new_findings;   // check's findings the change added
};

// Makes `change` (see the header comment); every applied setting is logged with
// audit_change(viewer, "listener NAME: SETTING", "BEFORE -> AFTER").
ChangeOutcome change_listener(const Services& services, const Viewer& viewer, const ConfigChange& change);

// Replaces `path` (symbolic links followed) with `text`: a temporary file in the same
// directory with the old file's mode and owner, fsync, rename, fsync of the directory.
Result<Ok> replace_file(const std::filesystem::path& path, std::string_view text);

}  // namespace rampart::console
