// filter/antivirus.cpp — engines asked concurrently, verdicts combined (see antivirus.hpp).
#include "filter/antivirus.hpp"

#include <algorithm>
#include <tuple>

#include <asio/experimental/awaitable_operators.hpp>

#include "filter/clamd.hpp"
#include "util/log.hpp"

namespace rampart::filter {
namespace {

using Engines = std::vector<config::AntivirusEngine>;

// Engines [i, end) at once: engine i and the rest joined with &&, so every scan runs
// concurrently and all are done (or cancelled together) when this returns.
asio::awaitable<std::vector<ClamdReply>> scan_from(const Engines& engines, std::size_t i, std::string_view message) {
    using namespace asio::experimental::awaitable_operators;
    if (i >= engines.size()) co_return std::vector<ClamdReply>();
    if (i + 1 == engines.size()) {
        ClamdReply only = co_await clamd_scan(engines[i].address, message, engines[i].timeout);
        std::vector<ClamdReply> out;
        out.push_back(std::move(only));
        co_return out;
    }
    // Named locals: GCC 12 mishandles temporaries inside co_await expressions.
    asio::awaitable<ClamdReply> first = clamd_scan(engines[i].address, message, engines[i].timeout);
    asio::awaitable<std::vector<ClamdReply>> rest = scan_from(engines, i + 1, message);
    auto both = std::move(first) && std::move(rest);
    std::tuple<ClamdReply, std::vector<ClamdReply>> r = co_await std::move(both);
    std::vector<ClamdReply> out;
    out.push_back(std::move(std::get<0>(r)));
    for (ClamdReply& x : std::get<1>(r)) out.push_back(std::move(x));
    co_return out;
}

class Run final : public AgentRun {
public:
    explicit Run(const Antivirus& agent) : agent_(agent) {}
    asio::awaitable<AgentVerdict> on(Stage stage, const MessageView& view) override {
        if (stage != Stage::EndOfData) co_return AgentVerdict::proceed();
        std::vector<ClamdReply> results = co_await agent_.scan(view.message);
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
    co_return co_await scan_from(settings_.engines, 0, message);
}

AgentVerdict Antivirus::decide(const std::vector<ClamdReply>& results) const {
    std::string failures;
    for (std::size_t i = 0; i < results.size() && i < settings_.engines.size(); ++i) {
        const config::AntivirusEngine& e = settings_.engines[i];
        const ClamdReply& r = results[i];
        if (r.kind == ClamdReply::Kind::Infected) {
            std::string reason = "engine " + e.name + " found " + r.signature;
            if (settings_.on_infected == config::OnInfected::Quarantine)
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
    if (failures.empty()) return AgentVerdict::proceed("", "every engine says clean");
    if (settings_.on_error == config::OnEngineError::Accept)
        return AgentVerdict::proceed("antivirus.on_error", failures + " (on_error = accept: not scanned by it)");
    return AgentVerdict::refuse(smtp::Reply(451, "4.7.1", "virus scan unavailable; try again later"),
                                "antivirus.on_error", failures);
}

std::unique_ptr<AgentRun> Antivirus::start(const SessionInfo&) const { return std::make_unique<Run>(*this); }

}  // namespace rampart::filter
