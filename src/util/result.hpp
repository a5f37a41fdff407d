// util/result.hpp — the one error-or-value type for failures of the world (disk, network).
// Contract: a Result holds either a value or an Error; reading the wrong side is a bug
// (RAMPART_ASSERT: checked in every build type, release included, never <cassert>). The
// Error's text is for logs only: it may name paths and errno, never reach an SMTP client
// (STYLE.md §6).
#pragma once

#include "util/assert.hpp"

#include <string>
#include <utility>
#include <variant>

namespace rampart {

struct Error {
    int code = 0;          // errno where one applies, else 0
    std::string message;   // operator-facing: what failed and where
};

// E: the error type; anything aggregate-initialisable from {int, message} (e.g. a
// struct extending Error's fields with a kind, as dns::Failure does).
template <class T, class E = Error>
class [[nodiscard]] Result {
public:
    // Default: an error "no result" (Asio's co_spawn needs default-constructible results).
    Result() : v_(no_result()) {}
    Result(T value) : v_(std::move(value)) {}
    Result(E error) : v_(std::move(error)) {}

    explicit operator bool() const { return v_.index() == 0; }
    bool ok() const { return v_.index() == 0; }
    T& value() { RAMPART_ASSERT(ok()); return std::get<0>(v_); }
    const T& value() const { RAMPART_ASSERT(ok()); return std::get<0>(v_); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const E& error() const { RAMPART_ASSERT(!ok()); return std::get<1>(v_); }

private:
    static E no_result() {
        E e{};
        e.message = "no result";
        return e;
    }

    std::variant<T, E> v_;
};

struct Ok {};

inline Error errno_error(int err, std::string what);

}  // namespace rampart

#include <cstring>
namespace rampart {
inline Error errno_error(int err, std::string what) {
    return Error{err, what + ": " + std::strerror(err)};
}
}  // namespace rampart
