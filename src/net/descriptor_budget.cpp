// net/descriptor_budget.cpp — see the header. A waiter is granted its descriptors by the
// lease given back before it (under the mutex), then woken on its own executor; waking
// and timing out race only for the mutex, so no grant is lost and none is doubled.
#include "net/descriptor_budget.hpp"

#include <algorithm>

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace rampart::net {

struct DescriptorBudget::Waiter {
    explicit Waiter(asio::any_io_executor ex, std::chrono::milliseconds wait, std::uint64_t n) : timer(ex, wait), want(n) {}
    asio::steady_timer timer;
    std::uint64_t want;
    bool granted = false;
};

DescriptorLease& DescriptorLease::operator=(DescriptorLease&& o) noexcept {
    if (this != &o) {
        reset();
        budget_ = o.budget_, n_ = o.n_, granted_ = o.granted_;
        o.clear();
    }
    return *this;
}

DescriptorLease DescriptorLease::unlimited() {
    DescriptorLease l;
    l.granted_ = true;
    return l;
}

void DescriptorLease::reset() {
    if (budget_ && n_ > 0) budget_->give_back(n_);
    clear();
}

DescriptorLease DescriptorBudget::try_acquire(std::uint64_t n) {
    n = std::min(n, capacity_);
    std::lock_guard lock(mu_);
    if (!waiters_.empty() || free_ < n) return {};
    free_ -= n;
    return DescriptorLease(this, n);
}

asio::awaitable<DescriptorLease> DescriptorBudget::acquire(std::uint64_t n, std::chrono::milliseconds wait) {
    n = std::min(n, capacity_);
    asio::any_io_executor ex = co_await asio::this_coro::executor;
    std::shared_ptr<Waiter> w;
    {
        std::lock_guard lock(mu_);
        if (waiters_.empty() && free_ >= n) {
            free_ -= n;
            co_return DescriptorLease(this, n);
        }
        // Queued in the same step as the wait starts below: a grant posted to this
        // executor runs only after that (one thread per executor), so it cancels the wait.
        w = std::make_shared<Waiter>(ex, wait, n);
        waiters_.push_back(w);
    }
    std::error_code ec;
    co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::lock_guard lock(mu_);
    if (w->granted) co_return DescriptorLease(this, n);
    std::erase(waiters_, w);
    ++timeouts_;
    co_return DescriptorLease{};
}

void DescriptorBudget::give_back(std::uint64_t n) {
    std::lock_guard lock(mu_);
    free_ += n;
    // Arrival order: the first waiter is served before any later (smaller) request.
    while (!waiters_.empty() && waiters_.front()->want <= free_) {
        std::shared_ptr<Waiter> w = std::move(waiters_.front());
        waiters_.pop_front();
        free_ -= w->want;
        w->granted = true;
        asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
    }
}

std::uint64_t DescriptorBudget::available() const {
    std::lock_guard lock(mu_);
    return free_;
}

std::uint64_t DescriptorBudget::waiting() const {
    std::lock_guard lock(mu_);
    return waiters_.size();
}

std::uint64_t DescriptorBudget::timeouts() const {
    std::lock_guard lock(mu_);
    return timeouts_;
}

}  // namespace rampart::net
