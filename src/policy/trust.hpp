// policy/trust.hpp — whose X-Rampart-* headers are believed (X-Rampart-SCL, the content
// filter's spam stamp; X-Rampart-Tracking-Id, the message tracking id): only an
// organisation server's (principal kind Server); anyone else's are removed or replaced.
// One function, so the content filter and the session cannot drift apart.
#pragma once

#include "policy/principal.hpp"

namespace rampart::policy {

inline bool organisation_server(const Principal& p) { return p.kind == Principal::Kind::Server; }

}  // namespace rampart::policy
