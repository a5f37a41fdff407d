// auth/gssapi_layer.cpp — RFC 4752 §3.1 security-layer messages.
#include "auth/gssapi_layer.hpp"

#include <algorithm>

namespace rampart::auth {

std::string encode_layer_offer(std::uint8_t layers, std::uint32_t max_size) {
    max_size = std::min(max_size, kMaxLayerSize);
    std::string out(4, '\0');
    out[0] = static_cast<char>(layers);
    out[1] = static_cast<char>((max_size >> 16) & 0xFF);
    out[2] = static_cast<char>((max_size >> 8) & 0xFF);
    out[3] = static_cast<char>(max_size & 0xFF);
    return out;
}

std::optional<LayerChoice> decode_layer_choice(std::string_view plain) {
    if (plain.size() < 4) return std::nullopt;
    auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(plain[i]); };
    LayerChoice c;
    c.layer = byte(0);
    if (c.layer == 0 || (c.layer & (c.layer - 1)) != 0) return std::nullopt;   // one bit only
    c.max_size = (std::uint32_t{byte(1)} << 16) | (std::uint32_t{byte(2)} << 8) | byte(3);
    c.authzid.assign(plain.substr(4));
    if (c.authzid.find('\0') != std::string::npos) return std::nullopt;
    return c;
}

}  // namespace rampart::auth
