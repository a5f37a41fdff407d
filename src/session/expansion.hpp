// session/expansion.hpp — the accepted recipients of a transaction, aliases expanded
// (directory::expand), as the envelope committed to the spool: each final recipient has
// its own durable state, retries and DSN. Pure: a directory snapshot and values in.
#pragma once

#include <vector>

#include "config/config.hpp"
#include "directory/directory.hpp"
#include "queue/envelope.hpp"

namespace rampart::session {

// Replaces every recipient that is an alias in an authoritative domain by the alias's
// expansion (directory::expand): remote targets become recipients routed like any other,
// local ones are resolved again at delivery. Each new recipient keeps NOTIFY, gets
// ORCPT = the original recipient (RFC 3461 §4.2) unless one was given, and alias = the
// original recipient, so reports speak of the alias, never of its members (RFC 3461
// §6.2.7.3; queue/dsn.hpp). XXX: were NOTIFY ever passed to the next hop, a member's
// SUCCESS would have to be removed there (the alias's "expanded" notice answers it). Duplicates (same
// address, case-insensitive) keep their first occurrence. An alias that expands to nothing
// (a loop) stays, so delivery reports it.
std::vector<queue::Recipient> expand_recipients(const directory::Directory& dir, const std::vector<config::Domain>& domains,
                                                const std::vector<queue::Recipient>& rcpts);

}  // namespace rampart::session
