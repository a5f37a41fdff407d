// util/assert.hpp — RAMPART_ASSERT: "we are wrong" (STYLE.md §6). Logs the failed
// condition with file and line, then aborts so a core is left for the post-mortem.
#pragma once

namespace rampart::detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line);
}

#define RAMPART_ASSERT(cond) \
    ((cond) ? static_cast<void>(0) : ::rampart::detail::assert_failed(#cond, __FILE__, __LINE__))
