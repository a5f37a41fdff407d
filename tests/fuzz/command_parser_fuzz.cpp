// Fuzz target: command and address parsers. Any input must yield a value or a reply
// whose code is a valid SMTP error, never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smtp/address.hpp"
#include "smtp/command_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    for (bool utf8 : {false, true}) {
        auto cmd = rampart::smtp::parse_command(in, utf8);
        if (cmd.error && (cmd.error->code < 500 || cmd.error->code > 555)) std::abort();
        std::size_t used = 0;
        auto p = rampart::smtp::parse_path(in, rampart::smtp::PathKind::Forward, utf8, &used);
        if (std::holds_alternative<rampart::smtp::Path>(p) && used > size) std::abort();
        (void)rampart::smtp::parse_path(in, rampart::smtp::PathKind::Reverse, utf8, nullptr);
    }
    (void)rampart::smtp::valid_utf8(in);
    if (rampart::smtp::valid_xtext(in)) (void)rampart::smtp::decode_xtext(in);
    return 0;
}
