// Fuzz target: the SASL GSSAPI security-layer codec (auth/gssapi_layer), on the client's
// unwrapped choice. A decoded choice has exactly one layer bit, a 24-bit size and an
// identity without NUL, and re-encodes to the very bytes it came from; any offer we
// encode decodes back to what was offered.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/gssapi_layer.hpp"

using namespace rampart::auth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto c = decode_layer_choice(in);
    if (c) {
        if (c->layer == 0 || (c->layer & (c->layer - 1)) != 0) std::abort();
        if (c->max_size > kMaxLayerSize || c->authzid.find('\0') != std::string::npos) std::abort();
        if (encode_layer_offer(c->layer, c->max_size) + c->authzid != in) std::abort();
    } else if (size >= 4) {
        std::uint8_t layer = data[0];
        bool one_bit = layer != 0 && (layer & (layer - 1)) == 0;
        if (one_bit && in.substr(4).find('\0') == std::string_view::npos) std::abort();   // refused a valid choice
    }
    if (size >= 5) {   // an offer of ours, from arbitrary values
        std::uint32_t max = (std::uint32_t{data[1]} << 24) | (std::uint32_t{data[2]} << 16) | (std::uint32_t{data[3]} << 8) | data[4];
        std::string offer = encode_layer_offer(data[0], max);
        if (offer.size() != 4 || static_cast<std::uint8_t>(offer[0]) != data[0]) std::abort();
        std::uint32_t back = (std::uint32_t{static_cast<std::uint8_t>(offer[1])} << 16) |
                             (std::uint32_t{static_cast<std::uint8_t>(offer[2])} << 8) | static_cast<std::uint8_t>(offer[3]);
        if (back != (max > kMaxLayerSize ? kMaxLayerSize : max)) std::abort();
    }
    return 0;
}
