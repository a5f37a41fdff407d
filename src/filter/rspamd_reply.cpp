// filter/rspamd_reply.cpp — the /checkv2 JSON answer and the SCL rule (see rspamd_reply.hpp).
// nlohmann::json's parser is iterative (no recursion on nesting), the input is bounded by
// kRspamdMaxReply, and it is asked not to throw: a parse failure is a discarded value.
#include "filter/rspamd_reply.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace rampart::filter {
namespace {

RspamdReply failed(std::string why) {
    RspamdReply r;
    r.error = std::move(why);
    return r;
}

// Printable ASCII only, at most `max` characters: safe for logs and replies.
std::string printable(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s) {
        if (out.size() >= max) break;
        if (c >= 0x20 && c < 0x7f) out += c;
    }
    return out;
}

}  // namespace

RspamdReply parse_rspamd_reply(std::string_view body) {
    if (body.size() > kRspamdMaxReply) return failed("reply larger than " + std::to_string(kRspamdMaxReply) + " bytes");
    nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return failed("reply is not JSON");
    if (!j.is_object()) return failed("reply is not a JSON object");
    auto score = j.find("score");
    auto required = j.find("required_score");
    auto action = j.find("action");
    if (score == j.end() || !score->is_number()) return failed("reply has no number \"score\"");
    if (required == j.end() || !required->is_number()) return failed("reply has no number \"required_score\"");
    if (action == j.end() || !action->is_string()) return failed("reply has no string \"action\"");
    RspamdReply r;
    r.score = score->get<double>();
    r.required_score = required->get<double>();
    if (!std::isfinite(r.score) || !std::isfinite(r.required_score) || r.required_score <= 0)
        return failed("reply has a required_score that is not positive");
    r.action = printable(action->get_ref<const std::string&>(), 64);
    if (auto symbols = j.find("symbols"); symbols != j.end()) {
        if (!symbols->is_object()) return failed("reply has \"symbols\" that is not an object");
        r.gtube = symbols->contains("GTUBE");
        for (const auto& [name, value] : symbols->items()) {
            if (r.symbols.size() >= RspamdReply::kMaxSymbols) break;
            std::string n = printable(name, 128);
            if (!n.empty()) r.symbols.push_back(std::move(n));
        }
        std::sort(r.symbols.begin(), r.symbols.end());
    }
    r.kind = RspamdReply::Kind::Ok;
    return r;
}

int scl_of(const RspamdReply& reply) {
    if (reply.action == "reject") return 9;
    if (reply.gtube) return 9;
    if (reply.required_score <= 0 || reply.score <= 0) return 0;
    double scl = std::floor(9.0 * reply.score / reply.required_score);
    return static_cast<int>(std::clamp(scl, 0.0, 8.0));
}

}  // namespace rampart::filter
