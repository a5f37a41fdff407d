// Fuzz target: the replication message decoder (replication/codec.hpp). Any input is a
// Message or an Error with a message, never a crash; a decoded message re-encodes to the
// same bytes (the format is canonical: what is signed is exactly what was read), and every
// entry it carries is valid.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "replication/codec.hpp"

using namespace rampart::replication;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto m = decode(in);
    if (!m) {
        if (m.error().message.empty()) std::abort();
        return 0;
    }
    if (encode(*m) != in) std::abort();
    if (m->base >= m->serial || m->signature.size() != 64) std::abort();
    for (const auto& e : m->added)
        if (!valid_entry(e)) std::abort();
    for (const auto& e : m->removed)
        if (!valid_entry(e) || m->snapshot()) std::abort();
    return 0;
}
