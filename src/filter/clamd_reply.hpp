// filter/clamd_reply.hpp — clamd's answer to zINSTREAM, parsed (pure; fuzzed by
// tests/fuzz/clamd_reply_fuzz.cpp). Trusts nothing in the bytes: a reply is "stream: OK",
// "stream: NAME FOUND" or "... ERROR", NUL-terminated, and anything else is garbage.
// Promises: a signature name it returns is 1..200 printable ASCII characters without
// spaces, safe to put into an SMTP reply and a log line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rampart::filter {

// The most a reply may take (clamd's are well below); more is garbage.
inline constexpr std::size_t kClamdMaxReply = 4096;

// Also the engine-neutral result of every antivirus engine (icap.hpp answers with it too).
struct ClamdReply {
    enum class Kind { Clean, Infected, Error };
    Kind kind = Kind::Error;
    std::string signature;   // Infected: the signature name, e.g. "Eicar-Test-Signature" (a milter
                             // engine's: its reply text, printable, spaces allowed, 200 at most)
    std::string error;       // Error: what went wrong (clamd's text, or why the reply is garbage), printable
    bool cached = false;     // the antivirus agent's verdict cache answered, not the engine
};

// `reply` is everything read from clamd up to and including the first NUL (or all that was
// read when the connection closed without one).
ClamdReply parse_clamd_reply(std::string_view reply);

}  // namespace rampart::filter
