// replication/replica.hpp — the edge's replicated state (data_dir/edge/replica/): one file
// per kind ("config.set", "recipients.set": "serial N", "hub NAME", then one entry a line),
// each replaced atomically (temporary file, fsync, rename, fsync of the directory), so a
// crash mid-apply leaves the previous snapshot of that kind. No address in clear is ever
// written: recipients and safe senders are HMAC hashes (replication/signing.hpp).
// apply() is pure: it checks a verified message against the current state (hub, serial,
// base) and returns the next state or why it is refused; the caller saves it.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "replication/codec.hpp"
#include "util/live.hpp"
#include "util/result.hpp"

namespace rampart::replication {

struct KindState {
    std::uint64_t serial = 0;               // 0: nothing received yet
    std::string hub;
    std::set<std::string> entries;
};

struct Replica {
    KindState config;
    KindState recipients;

    KindState& of(Kind k) { return k == Kind::Config ? config : recipients; }
    const KindState& of(Kind k) const { return k == Kind::Config ? config : recipients; }
    // From the config kind: the hub's accepted domains and where their mail goes.
    std::vector<config::Domain> domains() const;
    std::optional<std::string> route(std::string_view domain) const;   // "host:port"
    // From the recipients kind: is the address known (HMAC of its normalised form)?
    bool has_recipients() const { return recipients.serial > 0 && !org_key().empty(); }
    std::string org_key() const;             // raw bytes; "" before the first recipients snapshot
    bool knows(std::string_view address) const;
    // The replicated safe lists: true if `recipient` lists the sender address or its domain.
    bool lists_safe_sender(std::string_view recipient, std::string_view sender_address, std::string_view sender_domain) const;

    // What the running edge uses, derived once per swap (derive()): its own accepted domains
    // plus the hub's (the hub's authoritative and internal-relay domains are internal relay
    // here: accepted and sent to the hub), and a smart-host connector per replicated route.
    std::shared_ptr<const std::vector<config::Domain>> edge_domains;
    std::shared_ptr<const std::vector<config::SendConnector>> hub_routes;
    // The routes to the hub speak TLS (required) with the edge's own certificate as client
    // certificate (the hub's from-edge listener admits pinned edges only) and pin the hub's
    // certificate (data_dir/edge/hub.pem) when there is one.
    void derive(const config::Config& edge, const std::filesystem::path& data_dir = {});
};

// The state after `m` (already signature-checked), or why it is refused: another hub, a
// replayed or stale serial, a delta whose base is not our serial (a gap), a removal of an
// unknown entry.
Result<KindState> apply(const KindState& current, const Message& m);

std::filesystem::path replica_dir(const std::filesystem::path& data_dir);   // data_dir/edge/replica
// A missing directory or file is an empty state; a malformed file is an error naming it.
Result<Replica> load_replica(const std::filesystem::path& dir);
Result<Ok> save_kind(const std::filesystem::path& dir, Kind kind, const KindState& state);
// The file text of one kind (what save_kind writes).
std::string kind_file_text(const KindState& state);

// The replica the running edge answers from, swapped after each apply; null until the
// first load. A class rather than an alias so that headers can forward-declare it.
class LiveReplica final : public util::Live<Replica> {
public:
    using util::Live<Replica>::Live;
};

}  // namespace rampart::replication
