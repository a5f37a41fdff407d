// Fuzz target: the TOML configuration loader (config::load_text, what `serve`, `check`
// and a SIGHUP reload read), then `rampart check`'s analysis of what it loaded. Any
// document gives a Config or a list of errors, each naming the file and saying what is
// wrong; never a crash, a stack overflow or a hang.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "config/check.hpp"
#include "config/load.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto r = rampart::config::load_text(in, "fuzz.toml", "/nonexistent");
    if (auto* errors = std::get_if<std::vector<rampart::config::ConfigError>>(&r)) {
        if (errors->empty()) std::abort();
        for (const auto& e : *errors) {
            if (e.file != "fuzz.toml" || e.problem.empty() || e.line < 0) std::abort();
            (void)e.text();
        }
    } else {   // what `rampart check` then prints
        const auto& c = std::get<rampart::config::Config>(r);
        (void)rampart::config::render_findings(c, rampart::config::analyse(c));
    }
    return 0;
}
