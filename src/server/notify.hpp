// server/notify.hpp — the systemd notification protocol (sd_notify(3)), written here: one
// datagram to the AF_UNIX socket named by $NOTIFY_SOCKET ("@name": abstract namespace).
// Trusts: the environment systemd gave us. Promises: never throws, never blocks (the
// datagram is sent non-blocking); without $NOTIFY_SOCKET every call is a no-op, so the
// server behaves the same under systemd, another supervisor or a terminal.
#pragma once

#include <string>
#include <string_view>

namespace rampart::server {

// Sends `state` ("READY=1\nSTATUS=...") as one datagram. False if $NOTIFY_SOCKET is unset
// or the send failed (not an error for the caller: only the supervisor is told less).
bool notify(std::string_view state);

// "MONOTONIC_USEC=<CLOCK_MONOTONIC in µs>", which systemd 253+ wants with RELOADING=1.
std::string monotonic_usec_field();

// The messages the server sends, in one place.
bool notify_ready(std::string_view status);      // READY=1 + STATUS
bool notify_reloading();                         // RELOADING=1 + MONOTONIC_USEC + STATUS
bool notify_stopping();                          // STOPPING=1 + STATUS

}  // namespace rampart::server
