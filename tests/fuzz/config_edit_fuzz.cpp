// Fuzz target: the configuration editor of the web console (config::edit_listener). The
// input's first line names the listener, the rest is the file. Any text gives an edited
// text or a reason; never a crash or a hang. An edit that succeeds is idempotent: making it
// again to its own result changes nothing (the key is then found where it was written).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/edit.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::size_t nl = in.find('\n');
    if (nl == std::string_view::npos) return 0;
    std::string listener(in.substr(0, nl));
    std::string_view text = in.substr(nl + 1);
    using rampart::config::ListenerEdit;
    const std::vector<std::vector<ListenerEdit>> edit_sets = {
        {{"", "remote_ranges", rampart::config::toml_array({"192.0.2.0/24"})}},
        {{"auth", "basic", "true"}},
        {{"relay", "list", "[]"}, {"relay", "allow_authenticated", "false"}},
        {{"permissions", "submit", rampart::config::toml_array({"user:a\"b\n"})}},
    };
    for (const auto& edits : edit_sets) {
        auto r = rampart::config::edit_listener(text, listener, edits, {"internet", "submission"});
        if (!r) {
            if (r.error().message.empty()) std::abort();
            continue;
        }
        auto again = rampart::config::edit_listener(*r, listener, edits, {"internet", "submission"});
        if (!again || *again != *r) std::abort();
    }
    return 0;
}
