// The queue manager with a real spool in a temporary directory and a scripted attempt
// function in place of the dispatcher (the scheduler's only collaborator).
#include "queue/scheduler.hpp"

#include <chrono>
#include <functional>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "queue/spool.hpp"
#include "queue/spool_format.hpp"
#include "util/file_io.hpp"

using namespace rampart;
using namespace rampart::queue;
using namespace std::chrono_literals;

namespace {

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/rampart-sched-XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// What the scripted "dispatcher" answers for each recipient address.
using Script = std::function<AttemptResult(const Recipient&)>;

asio::awaitable<void> scripted(Envelope& env, const Script& script, int* calls) {
    ++*calls;
    for (Recipient& r : env.recipients) {
        if (r.done) continue;
        r.last = script(r);
        if (r.last.outcome == Outcome::Delivered) r.done = true;
    }
    co_return;
}

class SchedulerTest : public ::testing::Test {
protected:
    SchedulerTest() : spool_(dir_.path()) {
        EXPECT_TRUE(spool_.open().ok());
        settings_.retry_interval = 1h;
        settings_.max_retry_interval = 10h;
        settings_.delay_warning = 1000h;
    }

    void start(Script script) {
        script_ = std::move(script);
        scheduler_ = std::make_unique<Scheduler>(io_.get_executor(), spool_, settings_, "mx.test",
                                                 [this](Envelope& env) { return scripted(env, script_, &calls_); });
    }

    std::string queue(std::string sender, std::vector<std::string> rcpts) {
        Envelope e;
        e.received_at = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
        e.listener = "test";
        e.client = "127.0.0.1";
        e.helo = "client.test";
        e.sender = std::move(sender);
        for (auto& r : rcpts) e.recipients.push_back({r, 0, "", false, {}, {}});
        std::string id;
        asio::co_spawn(io_, commit(e, &id), asio::detached);
        run_until([&] { return !id.empty(); });
        e.id = id;
        e.size = 12;
        scheduler_->submit(e);
        return id;
    }

    static asio::awaitable<void> commit_into(Spool* s, Envelope e, std::string* out) {
        auto r = co_await s->commit(e, "", "Subject: t\r\n\r\nbody\r\n");
        *out = r ? *r : "ERROR";
    }
    asio::awaitable<void> commit(Envelope e, std::string* out) { return commit_into(&spool_, std::move(e), out); }

    // Runs the I/O context until `done` holds (bounded: 500 rounds of at most 10 ms).
    void run_until(const std::function<bool()>& done) {
        for (int i = 0; i < 500 && !done(); ++i) io_.run_for(10ms);
        ASSERT_TRUE(done());
    }

    std::vector<Envelope> spooled() {
        EXPECT_TRUE(spool_.settle_all().ok());   // messages in flight have no file yet (queue/spool.hpp)
        std::vector<Envelope> out;
        for (const auto& f : std::filesystem::directory_iterator(dir_.path())) {
            auto e = spool_.read_envelope(f.path().filename().string());
            if (e) out.push_back(*e);
        }
        return out;
    }

    TempDir dir_;
    Spool spool_;
    asio::io_context io_;
    config::QueueSettings settings_;
    Script script_;
    int calls_ = 0;
    std::unique_ptr<Scheduler> scheduler_;
};

AttemptResult failed() { return {Outcome::Failed, 550, "5.1.1", "no such user", "192.0.2.1:25"}; }
AttemptResult deferred() { return {Outcome::Deferred, 451, "4.4.1", "try later", "192.0.2.1:25"}; }
AttemptResult delivered() { return {Outcome::Delivered, 250, "2.0.0", "ok", "192.0.2.1:25"}; }

}  // namespace

TEST_F(SchedulerTest, FailedRecipientIsReportedOnceAndNeverRetried) {
    // The report to alice stays deferred, so it can be inspected in the spool.
    start([](const Recipient& r) {
        return r.address == "bad@x.test" ? failed() : r.address == "alice@example.test" ? deferred() : delivered();
    });
    std::string id = queue("alice@example.test", {"good@x.test", "bad@x.test"});
    run_until([&] { return calls_ >= 1 && scheduler_->find(id) == std::nullopt && spooled().size() == 1; });
    auto left = spooled();   // only the report remains
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].sender, "");
    ASSERT_EQ(left[0].recipients.size(), 1u);
    EXPECT_EQ(left[0].recipients[0].address, "alice@example.test");
    auto text = spool_.read_message(left[0].id);
    ASSERT_TRUE(text.ok());
    EXPECT_NE(text->find("Final-Recipient: rfc822; bad@x.test"), std::string::npos);
    EXPECT_EQ(text->find("good@x.test\r\nAction"), std::string::npos);
}

TEST_F(SchedulerTest, NullSenderGetsNoReport) {
    start([](const Recipient&) { return failed(); });
    std::string id = queue("", {"bad@x.test"});
    run_until([&] { return calls_ == 1 && scheduler_->find(id) == std::nullopt; });
    EXPECT_TRUE(spooled().empty());
    EXPECT_EQ(calls_, 1);
}

TEST_F(SchedulerTest, DeferralIsRecordedWithBackoff) {
    start([](const Recipient&) { return deferred(); });
    std::string id = queue("alice@example.test", {"later@x.test"});
    run_until([&] { auto m = scheduler_->find(id); return m && m->state == "deferred"; });
    auto on_disk = spool_.read_envelope(id);
    ASSERT_TRUE(on_disk.ok());
    EXPECT_EQ(on_disk->attempts, 1u);
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_GT(on_disk->next_attempt, now_ms + 50 * 60 * 1000);   // about retry_interval (1h) ahead
    EXPECT_EQ(calls_, 1);
    // retry makes it due now; the second deferral doubles the delay.
    ASSERT_TRUE(scheduler_->retry(id).ok());
    run_until([&] { auto m = scheduler_->find(id); return calls_ == 2 && m && m->state == "deferred"; });
    auto again = spool_.read_envelope(id);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->attempts, 2u);
    EXPECT_GT(again->next_attempt, now_ms + 110 * 60 * 1000);
}

asio::awaitable<void> hold_then(Scheduler* s, std::string id, std::string* out) {
    auto h = co_await s->hold(id);
    *out = h ? *h : h.error().message;
}

TEST_F(SchedulerTest, HeldMessagesAreNotRetriedAndBounceSendsAReport) {
    start([](const Recipient&) { return deferred(); });
    std::string id = queue("alice@example.test", {"later@x.test"});
    run_until([&] { auto m = scheduler_->find(id); return m && m->state == "deferred"; });
    std::string said;
    asio::co_spawn(io_, hold_then(scheduler_.get(), id, &said), asio::detached);
    run_until([&] { return !said.empty(); });
    EXPECT_EQ(scheduler_->find(id)->state, "held");
    EXPECT_FALSE(scheduler_->retry(id).ok());
    EXPECT_TRUE(spool_.read_envelope(id)->held);
    EXPECT_EQ(scheduler_->retry_all(), 0u);
    EXPECT_EQ(calls_, 1);
    asio::co_spawn(io_, [](Scheduler* s, std::string i) -> asio::awaitable<void> { (void)co_await s->bounce(i); }(scheduler_.get(), id),
                   asio::detached);
    run_until([&] { return scheduler_->find(id) == std::nullopt; });
    auto left = spooled();
    ASSERT_EQ(left.size(), 1u);
    auto text = spool_.read_message(left[0].id);
    EXPECT_NE(text->find("Status: 5.0.0"), std::string::npos);
}

TEST_F(SchedulerTest, DeleteSendsNoReport) {
    start([](const Recipient&) { return deferred(); });
    std::string id = queue("alice@example.test", {"later@x.test"});
    run_until([&] { auto m = scheduler_->find(id); return m && m->state == "deferred"; });
    ASSERT_TRUE(scheduler_->remove(id).ok());
    EXPECT_FALSE(scheduler_->find(id));
    EXPECT_TRUE(spooled().empty());
}

namespace {
// An attempt for slow.test that waits until the test opens the gate.
asio::awaitable<void> gated(Envelope& env, asio::steady_timer* gate, int* calls) {
    ++*calls;
    if (env.recipients[0].address.ends_with("@slow.test")) {
        std::error_code ec;
        co_await gate->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    for (Recipient& r : env.recipients) {
        r.last = delivered();
        r.done = true;
    }
}
}  // namespace

TEST_F(SchedulerTest, SlowDestinationDoesNotBlockOthers) {
    settings_.destination_concurrency = 2;
    asio::steady_timer gate(io_, asio::steady_timer::time_point::max());
    scheduler_ = std::make_unique<Scheduler>(io_.get_executor(), spool_, settings_, "mx.test",
                                             [&gate, this](Envelope& env) { return gated(env, &gate, &calls_); });
    std::vector<std::string> slow;
    for (int i = 0; i < 4; ++i) slow.push_back(queue("alice@example.test", {"u" + std::to_string(i) + "@slow.test"}));
    std::string fast = queue("alice@example.test", {"v@fast.test"});
    run_until([&] { return !scheduler_->find(fast); });   // delivered while slow.test hangs
    std::size_t active = 0, ready = 0;
    for (const auto& id : slow) {
        auto m = scheduler_->find(id);
        ASSERT_TRUE(m);
        active += m->state == "active";
        ready += m->state == "ready";
    }
    EXPECT_EQ(active, 2u);   // destination_concurrency
    EXPECT_EQ(ready, 2u);
    run_until([&] {   // open the gate for whoever waits now, until all went through
        gate.cancel();
        return scheduler_->list().empty();
    });
}

namespace {
asio::awaitable<void> commit_quarantined(Spool* s, Envelope e, std::string* out) {
    auto r = co_await s->commit(e, "", "Subject: t\r\n\r\nbody\r\n", encode_quarantine("content_filter: SCL 8"));
    *out = r ? *r : "ERROR";
}
}  // namespace

TEST_F(SchedulerTest, QuarantinedMessageWaitsForReleaseAndExpires) {
    settings_.retry_interval = 1h;
    start([](const Recipient&) { return delivered(); });
    scheduler_->set_quarantine_max_age(1h);
    auto make = [&](std::int64_t received_at) {
        Envelope e;
        e.received_at = received_at;
        e.sender = "a@outside.test";
        e.recipients.push_back({"b@example.test", 0, "", false, {}, {}});
        std::string id;
        asio::co_spawn(io_, commit_quarantined(&spool_, e, &id), asio::detached);
        run_until([&] { return !id.empty(); });
        auto stored = spool_.read_envelope(id);   // as a restart would read it
        EXPECT_TRUE(stored.ok());
        EXPECT_EQ(stored->quarantine, "content_filter: SCL 8");
        EXPECT_TRUE(stored->held);
        scheduler_->submit(*stored);
        return id;
    };
    std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string fresh = make(now);
    run_until([&] { auto m = scheduler_->find(fresh); return m && m->state == "quarantined"; });
    EXPECT_EQ(calls_, 0);
    EXPECT_FALSE(scheduler_->retry(fresh).ok());
    // `rampart queue release` does not release a quarantined message; the quarantine does.
    Result<std::string> said = Error{0, ""};
    bool done = false;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> { said = co_await scheduler_->release(fresh); done = true; }, asio::detached);
    run_until([&] { return done; });
    EXPECT_FALSE(said.ok());
    done = false;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> { said = co_await scheduler_->release_quarantine(fresh); done = true; }, asio::detached);
    run_until([&] { return done; });
    EXPECT_TRUE(said.ok());
    run_until([&] { return scheduler_->find(fresh) == std::nullopt; });
    EXPECT_EQ(calls_, 1);   // delivered once released
    // One received two hours ago is past max_age: deleted without delivery or report.
    std::string old = make(now - 7200);
    run_until([&] { return spooled().empty(); });
    EXPECT_FALSE(scheduler_->find(old));
    EXPECT_EQ(calls_, 1);
}

// Issue 14: every remote slot held by a hanging attempt; a local-only message still goes
// (its own lane), and the remote lane stays at delivery_concurrency.
TEST_F(SchedulerTest, LocalMessagesDoNotWaitBehindRemoteAttempts) {
    settings_.delivery_concurrency = 2;
    settings_.local_delivery_concurrency = 1;
    asio::steady_timer gate(io_, asio::steady_timer::time_point::max());
    auto is_local = [](const Envelope& env) { return env.recipients.front().address.ends_with("@example.test"); };
    // gated() holds @slow.test attempts until the gate opens and delivers the others at once.
    scheduler_ = std::make_unique<Scheduler>(io_.get_executor(), spool_, settings_, "mx.test",
                                             [&gate, this](Envelope& env) { return gated(env, &gate, &calls_); }, is_local);
    std::vector<std::string> remote;
    for (int i = 0; i < 3; ++i) remote.push_back(queue("alice@example.test", {"u" + std::to_string(i) + "@slow.test"}));
    std::string local = queue("bob@elsewhere.test", {"alice@example.test"});
    // Delivered (gone from the spool) while the remote ones hang.
    run_until([&] { return !spool_.read_envelope(local).ok(); });
    EXPECT_EQ(scheduler_->active(), 2u);
    for (const auto& id : remote) EXPECT_TRUE(spool_.read_envelope(id).ok()) << id;
    run_until([&] {
        gate.cancel();
        return scheduler_->list().empty();
    });
}
