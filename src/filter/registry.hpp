// filter/registry.hpp — builds the chain from the configuration: the one explicit table
// of agent kinds, in DESIGN.md §5 order (no static self-registration).
#pragma once

#include "config/config.hpp"
#include "filter/chain.hpp"

namespace rampart::dns {
class Resolver;
}

namespace rampart::replication {
class LiveReplica;
}

namespace rampart::filter {

class BlockList;

// What agents ask besides the configuration (owned by the caller, outliving the chain).
struct ChainServices {
    dns::Resolver* resolver = nullptr;        // the shared resolver: DNS lists, SPF/DKIM/DMARC
    const BlockList* block_list = nullptr;    // `rampart block` entries
    const replication::LiveReplica* replica = nullptr;   // role edge: the recipient filter's look-ups
};

// Throws std::runtime_error naming the setting and the file when an agent's data cannot be
// loaded (sender_auth.public_suffix_list): a start error.
Chain build_chain(const config::Config& config, const ChainServices& services = {});

}  // namespace rampart::filter
