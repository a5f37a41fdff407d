// Fuzz target: the web console's form decoder (query strings and POST bodies from anyone who
// reaches the admin listener). Any input decodes or is refused, never a crash; what decodes
// re-encodes to a form that decodes to the same fields.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "console/form.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto fields = rampart::console::parse_form(in);
    if (!fields) return 0;
    std::string again;
    for (const auto& [name, value] : *fields) {
        if (name.size() > size || value.size() > size) std::abort();
        if (!again.empty()) again += '&';
        again += rampart::console::url_encode(name) + "=" + rampart::console::url_encode(value);
    }
    auto round = rampart::console::parse_form(again);
    if (!round) std::abort();
    if (*round != *fields) std::abort();
    return 0;
}
