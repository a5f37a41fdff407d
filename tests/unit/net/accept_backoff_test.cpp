// net::AcceptBackoff: the delay arithmetic, and an accept loop (UnixListener's) that meets
// EMFILE backs off and logs the episode once, then resumes, instead of spinning.
#include "net/accept_backoff.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>

#include "net/unix_listener.hpp"
#include "util/log.hpp"

namespace rampart::net {
namespace {

using std::chrono::milliseconds;

TEST(AcceptBackoff, GrowsToOneSecondAndCountsTheEpisode) {
    AcceptBackoff b;
    EXPECT_EQ(b.succeeded(), 0u);   // no episode
    EXPECT_EQ(b.failed(), milliseconds(100));
    EXPECT_EQ(b.failures(), 1u);    // the one to log
    EXPECT_EQ(b.failed(), milliseconds(200));
    EXPECT_EQ(b.failed(), milliseconds(400));
    EXPECT_EQ(b.failed(), milliseconds(800));
    EXPECT_EQ(b.failed(), milliseconds(1000));
    EXPECT_EQ(b.failed(), milliseconds(1000));
    EXPECT_EQ(b.failures(), 6u);
    EXPECT_EQ(b.succeeded(), 6u);   // logged once at the end, with the count
    EXPECT_EQ(b.failed(), milliseconds(100));   // a new episode starts small again
}

std::uint64_t count_of(const char* event) {
    auto c = log::counters();
    auto it = c.find(event);
    return it == c.end() ? 0 : it->second;
}

// A connection waiting while the process has no descriptor left: accept(2) fails with
// EMFILE until one is free. Before the back-off, the control socket's and local
// submission's loop retried at once, for ever, at full CPU.
TEST(AcceptBackoff, AUnixListenerBacksOffWhileDescriptorsAreShortThenResumes) {
    char tmpl[] = "/tmp/rampart-accept-backoff-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::filesystem::path dir = tmpl;
    log::set_min_level(log::Level::Debug);
    asio::io_context ctx;
    auto listener = UnixListener::open(ctx.get_executor(), dir / "s", 0600, 16, "test socket");
    ASSERT_TRUE(listener) << listener.error().message;
    int accepted = 0;
    (*listener)->accept([&](UnixListener::Socket) { ++accepted; });
    asio::local::stream_protocol::socket client(ctx);
    client.open();   // its descriptor now: connecting needs none more

    std::uint64_t backoffs = count_of("net.accept.backoff"), retries = count_of("net.accept.retry"),
                  resumed = count_of("net.accept.resumed");
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit low = saved;
    low.rlim_cur = 256;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    std::vector<int> fillers;
    for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) fillers.push_back(fd);   // every one below 256 taken
    client.connect(asio::local::stream_protocol::endpoint((dir / "s").string()));
    ctx.run_for(milliseconds(700));   // 100 + 200 + 400 ms of back-off fit: a few failures, not thousands
    std::uint64_t failures = count_of("net.accept.retry") - retries;
    EXPECT_EQ(count_of("net.accept.backoff") - backoffs, 1u);   // the episode logged once
    EXPECT_GE(failures, 1u);
    EXPECT_LE(failures, 5u);
    EXPECT_EQ(accepted, 0);

    for (int fd : fillers) ::close(fd);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
    for (int i = 0; i < 40 && accepted == 0; ++i) ctx.run_for(milliseconds(100));   // bounded: 4 s
    EXPECT_EQ(accepted, 1);
    EXPECT_EQ(count_of("net.accept.resumed") - resumed, 1u);
    log::set_min_level(log::Level::Info);
    (*listener)->close();
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rampart::net
