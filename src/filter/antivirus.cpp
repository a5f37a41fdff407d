// filter/antivirus.cpp — engines asked concurrently, verdicts combined (see antivirus.hpp).
#include "filter/antivirus.hpp"

#include <algorithm>
#include <optional>
#include <tuple>

#include <asio/experimental/awaitable_operators.hpp>

#include "filter/clamd.hpp"
#include "filter/milter.hpp"
#include "filter/icap.hpp"
#include "mime/rewrite.hpp"
#include "mime/structure.hpp"
#include "mime/transfer_decoder.hpp"
#include "util/log.hpp"

namespace rampart::filter {
namespace {

using Engines = std::vector<config::AntivirusEngine>;

// One engine's verdict: from the cache, or from the engine (then remembered unless it failed).
asio::awaitable<ClamdReply> scan_one(const config::AntivirusEngine& engine, std::string_view message,
                                     VerdictCache& cache, const Sha256& digest) {
    if (std::optional<ClamdReply> hit = cache.get(engine.name, digest)) {
        hit->cached = true;
        co_return *hit;
    }
    ClamdReply r;
    // No co_await inside a conditional expression or on a temporary: GCC 12 mishandles both.
    if (engine.type == "icap") {
        asio::awaitable<ClamdReply> call = icap_scan(engine, message);
        r = co_await std::move(call);
    } else if (engine.type == "milter") {
        asio::awaitable<ClamdReply> call = milter_scan(engine.address, message, engine.timeout);
        r = co_await std::move(call);
    } else {
        asio::awaitable<ClamdReply> call = clamd_scan(engine.address, message, engine.timeout);
        r = co_await std::move(call);
    }
    cache.put(engine.name, digest, r);
    co_return r;
}

// Engines [i, end) at once: engine i and the rest joined with &&, so every scan runs
// concurrently and all are done (or cancelled together) when this returns.
asio::awaitable<std::vector<ClamdReply>> scan_from(const Engines& engines, std::size_t i, std::string_view message,
                                                   VerdictCache& cache, const Sha256& digest) {
    using namespace asio::experimental::awaitable_operators;
    if (i >= engines.size()) co_return std::vector<ClamdReply>();
    if (i + 1 == engines.size()) {
        ClamdReply only = co_await scan_one(engines[i], message, cache, digest);
        std::vector<ClamdReply> out;
        out.push_back(std::move(only));
        co_return out;
    }
    // Named locals: GCC 12 mishandles temporaries inside co_await expressions.
    asio::awaitable<ClamdReply> first = scan_one(engines[i], message, cache, digest);
    asio::awaitable<std::vector<ClamdReply>> rest = scan_from(engines, i + 1, message, cache, digest);
    auto both = std::move(first) && std::move(rest);
    std::tuple<ClamdReply, std::vector<ClamdReply>> r = co_await std::move(both);
    std::vector<ClamdReply> out;
    out.push_back(std::move(std::get<0>(r)));
    for (ClamdReply& x : std::get<1>(r)) out.push_back(std::move(x));
    co_return out;
}

bool infected(const std::vector<ClamdReply>& results) {
    return std::any_of(results.begin(), results.end(), [](const ClamdReply& r) { return r.kind == ClamdReply::Kind::Infected; });
}

bool all_clean(const std::vector<ClamdReply>& results) {
    return std::all_of(results.begin(), results.end(), [](const ClamdReply& r) { return r.kind == ClamdReply::Kind::Clean; });
}

// A decoded part is scanned whole; the message it came from is bounded by the listener's
// max_message_size, so this only guards against a decoder surprise.
constexpr std::size_t kMaxDecodedPart = 256u * 1024 * 1024;

class Run final : public AgentRun {
public:
    explicit Run(const Antivirus& agent) : agent_(agent) {}
    asio::awaitable<AgentVerdict> on(Stage stage, const MessageView& view) override {
        if (stage != Stage::EndOfData) co_return AgentVerdict::proceed();
        std::vector<ClamdReply> results = co_await agent_.scan(view.message);
        if (agent_.strips() && infected(results)) co_return co_await agent_.strip(view, results);
        co_return agent_.decide(results);
    }

private:
    const Antivirus& agent_;
};

}  // namespace

std::chrono::milliseconds Antivirus::timeout() const {
    std::chrono::milliseconds longest{0};
    for (const auto& e : settings_.engines) longest = std::max(longest, e.timeout);
    return longest + std::chrono::seconds(5);
}

asio::awaitable<std::vector<ClamdReply>> Antivirus::scan(std::string_view message) const {
    Sha256 digest{};
    if (cache_->enabled()) digest = sha256(message);
    co_return co_await scan_from(settings_.engines, 0, message, *cache_, digest);
}

AgentVerdict Antivirus::decide(const std::vector<ClamdReply>& results) const {
    return decide(results, settings_.on_infected == config::OnInfected::Strip ? config::OnInfected::Reject : settings_.on_infected);
}

AgentVerdict Antivirus::decide(const std::vector<ClamdReply>& results, config::OnInfected on_infected) const {
    std::string failures;
    for (std::size_t i = 0; i < results.size() && i < settings_.engines.size(); ++i) {
        const config::AntivirusEngine& e = settings_.engines[i];
        const ClamdReply& r = results[i];
        if (r.kind == ClamdReply::Kind::Infected) {
            std::string reason = "engine " + e.name + " found " + r.signature + (r.cached ? " (cached)" : "");
            if (on_infected == config::OnInfected::Quarantine)
                return AgentVerdict::quarantine("antivirus.on_infected", reason);
            return AgentVerdict::refuse(smtp::Reply(554, "5.7.1", "message refused: virus found: " + r.signature),
                                        "antivirus.on_infected", reason);
        }
        if (r.kind == ClamdReply::Kind::Error) {
            log::event(log::Level::Warning, "antivirus.engine_error",
                       {{"engine", e.name}, {"address", e.address.port ? e.address.text() : "unix:" + e.address.host},
                        {"error", r.error}, {"on_error", settings_.on_error == config::OnEngineError::Accept ? "accept" : "tempfail"}});
            failures += (failures.empty() ? "" : "; ") + ("engine " + e.name + " failed: " + r.error);
        }
    }
    std::string cached;
    for (std::size_t i = 0; i < results.size() && i < settings_.engines.size(); ++i)
        if (results[i].cached) cached += (cached.empty() ? "" : ", ") + settings_.engines[i].name;
    if (failures.empty()) return AgentVerdict::proceed("", "every engine says clean" + (cached.empty() ? "" : " (cached: " + cached + ")"));
    if (settings_.on_error == config::OnEngineError::Accept)
        return AgentVerdict::proceed("antivirus.on_error", failures + " (on_error = accept: not scanned by it)");
    return AgentVerdict::refuse(smtp::Reply(451, "4.7.1", "virus scan unavailable; try again later"),
                                "antivirus.on_error", failures);
}

asio::awaitable<AgentVerdict> Antivirus::strip(const MessageView& view, const std::vector<ClamdReply>& results) const {
    AgentVerdict fallback = decide(results, config::OnInfected::Reject);
    std::string why;
    if (!view.mime) why = "the message was not parsed";
    std::vector<mime::Edit> edits;
    std::string stripped;
    for (std::size_t i = 1; why.empty() && view.mime && i < view.mime->parts.size(); ++i) {
        const mime::Part& part = view.mime->parts[i];
        if (!part.is_leaf()) continue;
        std::string content = mime::decode_to_string(view.message, part, kMaxDecodedPart);
        std::vector<ClamdReply> r = co_await scan(content);
        std::string signature;
        for (std::size_t e = 0; e < r.size(); ++e) {
            if (r[e].kind == ClamdReply::Kind::Error) why = "engine " + settings_.engines[e].name + " failed on part " + std::to_string(i) + ": " + r[e].error;
            if (r[e].kind == ClamdReply::Kind::Infected && signature.empty()) signature = r[e].signature;
        }
        if (!why.empty() || signature.empty()) continue;
        std::string shown = part.display_name().empty() ? "part " + std::to_string(i) : "\"" + part.display_name() + "\"";
        edits.push_back(mime::Edit::replace(
            i, mime::text_part("The antivirus removed an attachment (" + shown + ") from this message: it contained " + signature + ".\n")));
        stripped += (stripped.empty() ? "" : ", ") + shown + ": " + signature;
    }
    if (why.empty() && edits.empty()) why = "no single part carries it";
    std::optional<std::string> rewritten;
    if (why.empty()) {
        auto r = mime::rewrite(view.message, *view.mime, edits);
        if (r) rewritten = std::move(*r);
        else why = "rewriting failed: " + r.error().message;
    }
    if (rewritten) {
        std::vector<ClamdReply> again = co_await scan(*rewritten);
        if (!all_clean(again)) why = "the message is not clean with the parts removed";
    }
    if (!why.empty()) {
        fallback.reason += " (not stripped: " + why + ")";
        co_return fallback;
    }
    log::event(log::Level::Info, "antivirus.stripped", {{"parts", stripped}});
    AgentVerdict v = AgentVerdict::proceed("antivirus.on_infected", "stripped " + stripped);
    v.edits.replace_message = std::move(*rewritten);
    co_return v;
}

std::unique_ptr<AgentRun> Antivirus::start(const SessionInfo&) const { return std::make_unique<Run>(*this); }

}  // namespace rampart::filter
