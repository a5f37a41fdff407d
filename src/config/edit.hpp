// config/edit.hpp — changes one listener's keys in the TOML text of a configuration file
// the way a person would: the key's value replaced where it stands (a `[listeners.auth]`
// table, an inline `auth = { ... }`, a dotted `auth.basic = ...` or a plain key), or a line
// inserted after the listener's `name = ...` (or in its own sub-table); every other byte —
// comments, order, spacing, quoting — stays as it was. Used by the web console
// (console/config_change.hpp).
// Pure: text in, text out. Trust: the file is the administrator's and may hold anything;
// the new values come from a console form. Values are written with toml_string/toml_array,
// so quotes and newlines in them are escaped, never spliced in raw. Every edit is verified:
// the edited text must parse (toml++) to exactly the old document with the one key set,
// else the edit is refused and nothing is returned — the editor never guesses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rampart::config {

struct ListenerEdit {
    std::string table;   // "" (a key of the listener itself), "auth", "relay", "permissions"
    std::string key;     // "remote_ranges", "anonymous", "mode", ...
    std::string value;   // a TOML value: "true", toml_string(...), toml_array(...)
};

// `text` with `edits` applied, in order, to the [[listeners]] table whose name is
// `listener`. When the text has no [[listeners]] at all (the role's default listeners
// run), a [[listeners]] table is appended for each of `default_names` (in that order,
// each with only its name: the loader gives it the same preset and bind as the default),
// then edited. Errors say why the text was not changed (unknown listener, a text the
// editor cannot edit safely, a text that is not TOML).
Result<std::string> edit_listener(std::string_view text, std::string_view listener, const std::vector<ListenerEdit>& edits,
                                  const std::vector<std::string>& default_names);

// A TOML basic string: "..." with \", \\ and control characters (newlines too) escaped.
std::string toml_string(std::string_view s);
// ["a", "b"] of toml_string()s.
std::string toml_array(const std::vector<std::string>& items);

}  // namespace rampart::config
