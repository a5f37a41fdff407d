// util/live.hpp — a value replaced while many threads read it: the directory after a
// reload, the edge's replica after a push, the hub's pinned edges after add-edge.
// Trust: none; holds whatever the owner sets.
// Contract: get() and set() may be called from any thread at once. get() returns a
// snapshot: the value it points to is immutable and lives as long as the caller holds it,
// so a set() never changes what a reader already took (a session keeps its snapshot to
// the end of its transaction). The lock guards only the pointer swap, never a reader's use.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace rampart::util {

template <class T>
class Live {
public:
    Live() = default;   // holds null until the first set()
    explicit Live(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}
    Live(const Live&) = delete;
    Live& operator=(const Live&) = delete;

    std::shared_ptr<const T> get() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    void set(std::shared_ptr<const T> next) {
        std::lock_guard lock(mutex_);
        current_.swap(next);   // the old value is released after the lock
    }
    void set(T next) { set(std::make_shared<const T>(std::move(next))); }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const T> current_;
};

}  // namespace rampart::util
