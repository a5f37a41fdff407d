// util/assert.cpp — failure path of RAMPART_ASSERT.
#include "util/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace rampart::detail {
void assert_failed(const char* expr, const char* file, int line) {
    std::fprintf(stderr, "level=error event=internal.assert expr=\"%s\" at=%s:%d\n", expr, file,
                 line);
    std::abort();
}
}  // namespace rampart::detail
