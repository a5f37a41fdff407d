// auth/gssapi_layer.hpp — the RFC 4752 §3.1 security-layer messages of SASL GSSAPI, as
// plain bytes (before gss_wrap / after gss_unwrap). Pure codec: no GSS-API, no I/O.
// rampart offers only "no security layer" (TLS protects the session where wanted).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::auth {

// Bit mask of the first octet (RFC 4752 §3.3).
inline constexpr std::uint8_t kLayerNone = 1;
inline constexpr std::uint8_t kLayerIntegrity = 2;
inline constexpr std::uint8_t kLayerConfidentiality = 4;
inline constexpr std::uint32_t kMaxLayerSize = 0xFFFFFF;   // three octets

// The server's offer: octet 1 the layers offered, octets 2-4 the largest message the
// server accepts (network byte order). `max_size` above kMaxLayerSize is clamped.
std::string encode_layer_offer(std::uint8_t layers, std::uint32_t max_size);

struct LayerChoice {
    std::uint8_t layer = 0;       // exactly one bit of the offer
    std::uint32_t max_size = 0;
    std::string authzid;          // UTF-8 authorization identity; empty: none requested
};

// The client's answer: 4 octets then the authorization identity. The caller checks the
// layer against its offer; with "no security layer" the size means nothing and is ignored. nullopt if shorter than
// 4 octets, if the first octet does not have exactly one bit set, or if the identity
// holds a NUL.
std::optional<LayerChoice> decode_layer_choice(std::string_view plain);

}  // namespace rampart::auth
