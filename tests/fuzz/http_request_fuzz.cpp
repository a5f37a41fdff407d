// Fuzz target: the admin listener's HTTP/1.1 request parser. Any input yields Incomplete,
// Complete or Bad, never a crash; a Complete request consumed no more than it was given,
// has a path starting with "/", no CR or LF in any field, and a body within the limit; a
// Bad one has a 4xx/5xx status and a reason; Incomplete never beyond the head limit.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "admin/http_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    rampart::admin::HttpLimits limits;
    limits.max_head = 1024;
    limits.max_headers = 16;
    limits.max_body = 512;
    auto p = rampart::admin::parse_http_request(in, limits);
    using S = rampart::admin::HttpParse::Status;
    auto clean = [](std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; };
    switch (p.status) {
    case S::Complete:
        if (p.consumed > size || p.request.body.size() > limits.max_body) std::abort();
        if (p.request.path.empty() || p.request.path.front() != '/') std::abort();
        if (p.request.headers.size() > limits.max_headers) std::abort();
        for (const auto& [k, v] : p.request.headers)
            if (k.empty() || !clean(k) || !clean(v)) std::abort();
        if (!clean(p.request.method) || !clean(p.request.target)) std::abort();
        break;
    case S::Bad:
        if (p.error_status < 400 || p.error_status > 599 || p.error.empty()) std::abort();
        break;
    case S::Incomplete:
        if (size >= limits.max_head && in.substr(0, limits.max_head).find("\r\n\r\n") == std::string_view::npos) std::abort();
        break;
    }
    return 0;
}
