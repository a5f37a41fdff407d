// filter/registry.cpp — configuration → agents, in chain order (DESIGN.md §5):
// connection filter → sender filter → recipient filter → sender authentication →
// content filter → attachment filter → antivirus → milters → transport rules. An agent is in the
// chain when its table is in the configuration. Throws std::runtime_error naming the
// setting and file when an agent's data cannot be loaded (sender_auth.public_suffix_list).
#include "filter/registry.hpp"

#include "filter/attachment_filter.hpp"
#include "filter/antivirus.hpp"
#include "filter/connection_filter.hpp"
#include "filter/content_filter.hpp"
#include "filter/milter.hpp"
#include "filter/recipient_filter.hpp"
#include "filter/sender_filter.hpp"
#include "filter/sender_auth.hpp"
#include "filter/transport_rules.hpp"
#include "senderauth/spf.hpp"

namespace rampart::filter {

Chain build_chain(const config::Config& config, const ChainServices& services) {
    std::vector<std::unique_ptr<Agent>> agents;
    if (config.connection_filter.configured)
        agents.push_back(std::make_unique<ConnectionFilter>(
            config.connection_filter,
            ConnectionFilterServices{services.resolver, services.block_list, config.dns.timeout, config.dns.servers.size()}));
    if (config.sender_filter.configured) agents.push_back(std::make_unique<SenderFilter>(config.sender_filter));
    if (config.recipient_filter.configured)
        agents.push_back(std::make_unique<RecipientFilter>(config.recipient_filter, config.domains, services.replica));
    if (config.sender_auth.configured)
        agents.push_back(std::make_unique<SenderAuth>(
            config.sender_auth, config.server.hostname, services.resolver ? std::make_shared<senderauth::ResolverLookup>(*services.resolver)
                                                               : std::make_shared<senderauth::ResolverLookup>(config.dns),
            SenderAuth::load_public_suffix_list(config.resolve(config.sender_auth.public_suffix_list).string())));
    if (config.content_filter.configured)
        agents.push_back(std::make_unique<ContentFilter>(config.content_filter, config.server.hostname, services.replica));
    if (config.attachment_filter.configured) agents.push_back(std::make_unique<AttachmentFilter>(config.attachment_filter));
    if (config.antivirus.configured) agents.push_back(std::make_unique<Antivirus>(config.antivirus));
    for (const config::MilterSettings& m : config.milters) agents.push_back(std::make_unique<MilterAgent>(m, config.server.hostname));
    if (!config.transport_rules.empty())
        agents.push_back(std::make_unique<TransportRules>(config.transport_rules, config.domains));
    return Chain(std::move(agents));
}

}  // namespace rampart::filter
