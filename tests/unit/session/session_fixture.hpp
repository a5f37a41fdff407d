// session_fixture.hpp — one SMTP session over a socketpair for the session tests: no
// network, a real spool in a temp dir, the reply reader and the transcript helpers.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "config/load.hpp"
#include "filter/chain.hpp"
#include "net/socket_stream.hpp"
#include "queue/spool.hpp"
#include "session/server_session.hpp"

namespace rampart::test {

using LocalStream = net::SocketStream<asio::local::stream_protocol::socket>;

// A session over a socketpair with a real spool in a temp dir; `config_text()` and
// `filters()` choose the listener's settings and the filter chain.
class SessionFixture : public ::testing::Test {
protected:
    virtual std::string config_text() const {
        return R"(
[server]
hostname = "mx.test"
[[domains]]
name = "example.test"
[[listeners]]
name = "default"
bind = ["127.0.0.1:2525"]
tls = "none"
limits = { )" + limits_ + R"( }
)";
    }
    std::string limits_ = R"(max_message_size = "1KiB", max_recipients = 2, max_errors = 5)";   // a derived fixture may change it
    virtual const filter::Chain* filters() const { return nullptr; }
    virtual std::string_view greeting() const { return "220"; }

    void SetUp() override {
        char tmpl[] = "/tmp/rampart-session-XXXXXX";
        dir_ = mkdtemp(tmpl);
        auto r = config::load_text(config_text(), "test.toml", dir_.string());
        ASSERT_TRUE(std::holds_alternative<config::Config>(r));
        cfg_ = std::get<config::Config>(r);
        spool_ = std::make_unique<queue::Spool>(dir_ / "spool");
        ASSERT_TRUE(spool_->open().ok());
        services_.config = &cfg_;
        services_.spool = spool_.get();
        services_.filters = filters();
        services_.queued = [this](const queue::Envelope& e) {
            std::lock_guard lock(mutex_);
            queued_.push_back(e);
        };
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        client_ = fds[1];
        timeval tv{5, 0};
        ::setsockopt(client_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        asio::local::stream_protocol::socket s(io_);
        s.assign(asio::local::stream_protocol(), fds[0]);
        stream_ = std::make_unique<LocalStream>(std::move(s));
        session::ClientInfo client{*net::IpAddress::parse("203.0.113.7"), 40000, {}};
        asio::co_spawn(io_, session::serve_session(*stream_, cfg_.listeners[0], client, services_), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
        EXPECT_EQ(read_reply().substr(0, 3), greeting());
    }
    void TearDown() override {
        ::close(client_);
        thread_.join();
        stream_.reset();
        spool_.reset();
        std::filesystem::remove_all(dir_);
    }

    // Reads one whole (possibly multi-line) reply; "" on EOF or timeout.
    std::string read_reply() {
        while (true) {
            std::size_t start = 0;
            while (true) {
                std::size_t nl = buf_.find("\r\n", start);
                if (nl == std::string::npos) break;
                if (nl - start >= 4 && buf_[start + 3] == ' ') {
                    std::string r = buf_.substr(0, nl + 2);
                    buf_.erase(0, nl + 2);
                    return r;
                }
                start = nl + 2;
            }
            char b[4096];
            ssize_t n = ::read(client_, b, sizeof b);
            if (n <= 0) return "";
            buf_.append(b, static_cast<std::size_t>(n));
        }
    }
    void send(std::string_view s) { ASSERT_EQ(::write(client_, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
    // Sends `s`, expects the next reply to start with `prefix`.
    void talk(std::string_view s, std::string_view prefix) {
        send(s);
        std::string r = read_reply();
        EXPECT_EQ(r.substr(0, prefix.size()), prefix) << "after " << s << " got " << r;
    }
    void open_transaction(const std::string& from, const std::vector<std::string>& to) {
        talk("EHLO client.test\r\n", "250");
        talk("MAIL FROM:<" + from + ">\r\n", "250 2.1.0");
        for (const auto& t : to) talk("RCPT TO:<" + t + ">\r\n", "250 2.1.5");
        talk("DATA\r\n", "354");
    }
    std::size_t queued() {
        std::lock_guard lock(mutex_);
        return queued_.size();
    }
    std::size_t spool_files() {
        EXPECT_TRUE(spool_->settle_all().ok());   // messages in flight have no file yet (queue/spool.hpp)
        std::size_t n = 0;
        for (auto& e : std::filesystem::directory_iterator(dir_ / "spool")) n += e.is_regular_file();  // not incoming/
        return n;
    }
    std::size_t incoming_files() {
        std::size_t n = 0;
        for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir_ / "spool" / "incoming")) ++n;
        return n;
    }

    std::filesystem::path dir_;
    config::Config cfg_;
    std::unique_ptr<queue::Spool> spool_;
    session::SessionServices services_;
    asio::io_context io_;
    std::unique_ptr<LocalStream> stream_;
    std::thread thread_;
    int client_ = -1;
    std::string buf_;
    std::mutex mutex_;
    std::vector<queue::Envelope> queued_;
};

}  // namespace rampart::test
