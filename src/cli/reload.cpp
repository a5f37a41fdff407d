// cli/reload.cpp — SIGHUP: load, check, and hand the server a new configuration generation.
#include "cli/reload.hpp"

#include <fstream>
#include <sstream>

#include <asio/ssl/context.hpp>

#include "config/load.hpp"
#include "config/reload.hpp"
#include "dns/resolver.hpp"
#include "filter/registry.hpp"
#include "net/tls.hpp"
#include "queue/scheduler.hpp"
#include "server/server.hpp"

namespace rampart::cli {

Result<Ok> add_tls_contexts(const config::Config& cfg, const std::filesystem::path& data_dir, GenerationParts& parts) {
    bool wants_tls = false, wants_client_certs = false;
    for (const auto& l : cfg.listeners) {
        wants_tls = wants_tls || l.tls != config::TlsMode::None;
        wants_client_certs = wants_client_certs || (l.tls != config::TlsMode::None && l.auth.server);
    }
    for (bool client_certs : {false, true}) {
        std::shared_ptr<asio::ssl::context>& slot = client_certs ? parts.tls_client_auth : parts.tls;
        if (slot || !wants_tls || (client_certs && !wants_client_certs)) continue;
        net::ServerTlsSettings ts;
        if (!cfg.tls.certificate.empty()) {
            ts.certificate = cfg.resolve(cfg.tls.certificate);
            ts.key = cfg.resolve(cfg.tls.key);
        }
        ts.self_signed_dir = data_dir / "tls";
        ts.hostname = cfg.server.hostname;
        ts.tls13_only = cfg.tls.min_version == "TLSv1.3";
        auto t = net::make_server_context(ts, client_certs);
        if (!t) return Error{0, cfg.source + ": " + t.error().message};
        slot = *t;
    }
    return Ok{};
}

log::Level log_level_from(const std::string& s) {
    if (s == "debug") return log::Level::Debug;
    if (s == "warning") return log::Level::Warning;
    if (s == "error") return log::Level::Error;
    return log::Level::Info;
}

namespace {
constexpr const char* kKept = "kept the running configuration";
}

Result<Ok> Reloader::reload() {
    if (path.empty()) {
        log::info("config.reload.skipped", {{"reason", "started without -c: the embedded default cannot change"}});
        return Error{0, "started without -c: the embedded default cannot change"};
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    if (in) ss << in.rdbuf();
    if (!in) {
        log::error("config.reload.failed", {{"file", path}, {"error", path + ": cannot read the configuration file"}, {"action", kKept}});
        return Error{0, path + ": cannot read the configuration file"};
    }
    std::string text = ss.str();
    config::LoadResult loaded = config::load_text(text, path, std::filesystem::absolute(path).parent_path().string());
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded)) {
        std::string all;
        for (const config::ConfigError& e : *errors) {
            log::error("config.reload.failed", {{"file", path}, {"error", e.text()}, {"action", kKept}});
            all += (all.empty() ? "" : "\n") + e.text();
        }
        return Error{0, all};
    }
    std::shared_ptr<const server::Generation> current = server->generation();
    config::Config next = std::get<config::Config>(std::move(loaded));
    std::vector<std::string> kept = config::keep_restart_only(*current->config, running_text, next, text);
    for (const std::string& setting : kept)
        log::warn("config.reload.needs_restart", {{"setting", setting}, {"action", "kept the running value; restart rampart to apply it"}});
    auto cfg = std::make_shared<const config::Config>(std::move(next));

    auto parts = std::make_shared<GenerationParts>(*std::static_pointer_cast<const GenerationParts>(current->owned));
    try {
        if ((!cfg->connection_filter.block_providers.empty() || !cfg->connection_filter.allow_providers.empty()) && !*dns_lists)
            *dns_lists = std::make_unique<dns::Resolver>(cfg->dns);
        parts->filters = std::make_shared<filter::Chain>(filter::build_chain(*cfg, filter::ChainServices{dns_lists->get(), block_list, replica}));
    } catch (const std::exception& e) {
        log::error("config.reload.failed", {{"file", path}, {"error", std::string(e.what())}, {"action", kKept}});
        return Error{0, e.what()};
    }
    if (auto r = add_tls_contexts(*cfg, data_dir, *parts); !r) {
        log::error("config.reload.failed", {{"file", path}, {"error", r.error().message}, {"action", kKept}});
        return r;
    }
    auto gen = std::make_shared<server::Generation>();
    gen->config = cfg;
    gen->owned = parts;
    gen->services = current->services;
    gen->services.config = cfg.get();
    gen->services.filters = parts->filters.get();
    gen->services.tls = parts->tls.get();
    gen->services.tls_client_auth = parts->tls_client_auth.get();
    if (auto r = server->reconfigure(gen); !r)
        log::error("config.reload.listen_failed", {{"error", r.error().message}, {"action", "the other addresses serve; the next reload tries again"}});

    log::set_min_level(log_level_from(cfg->server.log_level));
    if (cfg->server.log_file != current->config->server.log_file) {
        std::string file = cfg->server.log_file.empty() ? "" : cfg->resolve(cfg->server.log_file).string();
        if (!log::set_file(file))
            log::error("log.open.failed", {{"file", file}, {"setting", "server.log_file"}, {"action", "kept the previous log file"}});
    }
    scheduler->set_quarantine_max_age(cfg->quarantine.max_age);
    running_text = std::move(text);
    log::info("config.reloaded", {{"file", path}, {"listeners", cfg->listeners.size()}, {"needs_restart", kept.size()}});
    return Ok{};
}

}  // namespace rampart::cli
