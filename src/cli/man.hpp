// cli/man.hpp — the man pages rampart(8) and rampart.toml(5), in roff (man macros), made
// from what the program already knows: the command line's subcommands and options, and the
// one settings table (config::settings_reference, the same text as docs/configuration.md),
// so a page cannot fall behind the program. `rampart settings --man 5|8` prints them; the
// build writes them to build/man/ (CMakeLists.txt), and write_man_pages() is what an
// installer calls.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rampart::cli {

struct CommandDoc {
    std::string name;          // "serve"
    std::string description;   // one line
    std::vector<std::pair<std::string, std::string>> options;   // ("-c,--config FILE", what it does)
};

// rampart.toml(5) from the Markdown settings reference.
std::string man_toml(std::string_view settings_markdown);
// rampart(8) from the subcommands.
std::string man_rampart(const std::vector<CommandDoc>& commands);

// Writes rampart.8 into dir/man8 and rampart.toml.5 into dir/man5 (creating them).
Result<Ok> write_man_pages(const std::filesystem::path& dir, const std::vector<CommandDoc>& commands);

// Text for a roff line: backslashes escaped, `code` in bold, a leading '.' or '\'' made literal.
std::string roff_text(std::string_view markdown);

}  // namespace rampart::cli
