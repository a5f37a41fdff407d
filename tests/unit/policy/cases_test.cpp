// policy/cases_test.cpp — the golden policy cases (tests/unit/policy/cases/NAME/): each is
// run through `rampart explain`'s code path (policy::explain) and through a live session
// (session::serve_session over a socketpair, with a real spool, directory and brakes), and
// both must give the same replies; explain's replies and whole trace must also equal the
// case's replies.txt and trace.txt.
//
// A case directory holds:
//   config.toml     the configuration (one or more listeners, domains, ...)
//   directory.toml  optional: the directory file (users get the password "pw-NAME")
//   session.toml    listener, client, user (AUTH PLAIN), ehlo, mail_from, size (SIZE=),
//                   smtputf8, rcpts, received_count (Received fields in the message);
//                   live state, as if a running server had it (explain then gets it as it
//                   would over the control socket): messages_this_hour,
//                   recipients_this_hour (the user's sent count), auth_failures (failed
//                   logins of the client address before this session)
//   replies.txt     "COMMAND => CODE ENHANCED TEXT   [rule]", one per reply
//   trace.txt       explain's whole trace
// With explain as it was before the limits became rules (no SIZE=, max_recipients or hop
// count check, addresses parsed as if SMTPUTF8 were always on), the live comparison fails
// for size_declared_too_big, max_recipients_exceeded, hop_count_exceeded and
// smtputf8_sender_without_extension.
// RAMPART_UPDATE_GOLDEN=1 rewrites replies.txt and trace.txt from explain (review the
// diff!); the comparison with the live session is made either way.
#include "policy/explain.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include "auth/password.hpp"
#include "config/load.hpp"
#include "directory/directory.hpp"
#include "net/socket_stream.hpp"
#include "policy/brakes.hpp"
#include "queue/spool.hpp"
#include "session/received.hpp"
#include "session/server_session.hpp"

using namespace rampart;
namespace fs = std::filesystem;

namespace {

const fs::path kCases = fs::path(RAMPART_UNIT_DIR) / "policy" / "cases";

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string base64(std::string_view in) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
    }
    if (i + 1 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16;
        out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
    }
    return out;
}

struct Case {
    fs::path dir;
    config::Config cfg;
    std::shared_ptr<const directory::Directory> directory;
    const config::Listener* listener = nullptr;
    std::string client, user, ehlo = "client.test", mail_from;
    std::optional<std::uint64_t> size;
    bool smtputf8 = false;
    std::vector<std::string> rcpts;
    std::optional<std::size_t> received_count;
    bool live = false;   // any live state given
    std::uint32_t messages_this_hour = 0, recipients_this_hour = 0, auth_failures = 0;
};

Case load_case(const fs::path& dir) {
    Case c;
    c.dir = dir;
    auto r = config::load_text(slurp(dir / "config.toml"), (dir / "config.toml").string(), dir.string());
    if (auto* errs = std::get_if<std::vector<config::ConfigError>>(&r)) {
        std::string all;
        for (const auto& e : *errs) all += e.text() + "\n";
        throw std::runtime_error("config: " + all);
    }
    c.cfg = std::get<config::Config>(r);
    directory::Directory d;
    if (fs::exists(dir / "directory.toml")) {
        auto loaded = directory::Directory::load(dir / "directory.toml");
        if (!std::holds_alternative<directory::Directory>(loaded)) throw std::runtime_error("directory.toml does not load");
        d = std::get<directory::Directory>(loaded);
    }
    toml::table s = toml::parse_file((dir / "session.toml").string());
    std::string listener = s["listener"].value_or(std::string("default"));
    for (const auto& l : c.cfg.listeners)
        if (l.name == listener) c.listener = &l;
    if (!c.listener) throw std::runtime_error("no listener " + listener);
    c.client = s["client"].value_or(std::string("203.0.113.7"));
    c.user = s["user"].value_or(std::string());
    if (directory::User* u = d.user(c.user)) u->password = *auth::hash_password("pw-" + u->name);   // slow: only the one
    c.directory = std::make_shared<const directory::Directory>(std::move(d));
    c.ehlo = s["ehlo"].value_or(c.ehlo);
    c.mail_from = s["mail_from"].value_or(std::string());
    if (auto v = s["size"].value<std::int64_t>()) c.size = static_cast<std::uint64_t>(*v);
    c.smtputf8 = s["smtputf8"].value_or(false);
    if (auto* a = s["rcpts"].as_array())
        for (const auto& e : *a) c.rcpts.push_back(e.value_or(std::string()));
    if (auto v = s["received_count"].value<std::int64_t>()) c.received_count = static_cast<std::size_t>(*v);
    for (auto [key, field] : {std::pair{"messages_this_hour", &c.messages_this_hour},
                              std::pair{"recipients_this_hour", &c.recipients_this_hour},
                              std::pair{"auth_failures", &c.auth_failures}})
        if (auto v = s[key].value<std::int64_t>()) {
            *field = static_cast<std::uint32_t>(*v);
            c.live = true;
        }
    return c;
}

// What `rampart explain` builds from its options (cli/explain.cpp), for this case.
// The brakes of the "running server" both sides share, primed with the case's live state.
void prime(const Case& c, policy::Brakes& brakes) {
    if (!c.user.empty() && (c.messages_this_hour || c.recipients_this_hour))
        brakes.count("user:" + c.user, c.messages_this_hour, c.recipients_this_hour);
    for (std::uint32_t i = 0; i < c.auth_failures; ++i)
        brakes.auth_failed(policy::Brakes::ip_key(c.client), "", c.listener->limits);
}

policy::ExplainAnswer run_explain(const Case& c, policy::Brakes& brakes) {
    policy::ExplainQuestion q;
    q.facts.listener = c.listener;
    q.facts.domains = &c.cfg.domains;
    q.facts.connectors = &c.cfg.send_connectors;
    q.facts.client = *net::IpAddress::parse(c.client);
    q.facts.tls = c.listener->tls == config::TlsMode::Implicit;
    q.facts.directory = c.directory;
    if (!c.user.empty()) {
        const directory::User* u = c.directory->user(c.user);
        if (!u) throw std::runtime_error("no user " + c.user);
        q.facts.principal = {policy::Principal::Kind::User, c.user, c.directory->groups_of(u->name), u->addresses, u->send_as_any};
    }
    q.hostname = c.cfg.server.hostname;
    q.mail_from = c.mail_from;
    q.size = c.size;
    q.smtputf8 = c.smtputf8;
    q.rcpts = c.rcpts;
    q.received_headers = c.received_count;
    if (c.live) {   // what cli::live_state_answer reports from a running server's Brakes
        policy::ExplainQuestion::LiveState live;
        if (auto left = brakes.locked(policy::Brakes::ip_key(c.client))) live.locked = *left;
        if (!c.user.empty()) live.usage = brakes.usage("user:" + c.user);
        q.live = live;
    }
    q.size_limit = session::message_size_limit(c.listener->limits.max_message_size,
                                               {c.ehlo, q.facts.client.text(), c.cfg.server.hostname, q.facts.tls, {}});
    return policy::explain(q);
}

std::string reply_line(const std::string& command, const std::string& summary) { return command + " => " + summary; }

// The same session, live: the replies a client reads, as "COMMAND => CODE ENH TEXT".
class LiveSession {
public:
    LiveSession(const Case& c, policy::Brakes& brakes) : c_(c), brakes_(brakes) {
        char tmpl[] = "/tmp/rampart-cases-XXXXXX";
        dir_ = mkdtemp(tmpl);
        spool_ = std::make_unique<queue::Spool>(dir_ / "spool");
        if (!spool_->open().ok()) throw std::runtime_error("spool");
        live_dir_ = std::make_unique<directory::Live>(c.directory);
        services_.config = &c.cfg;
        services_.spool = spool_.get();
        services_.directory = live_dir_.get();
        services_.brakes = &brakes_;
        services_.queued = [](const queue::Envelope&) {};
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) throw std::runtime_error("socketpair");
        fd_ = fds[1];
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        asio::local::stream_protocol::socket s(io_);
        s.assign(asio::local::stream_protocol(), fds[0]);
        stream_ = std::make_unique<net::SocketStream<asio::local::stream_protocol::socket>>(std::move(s));
        session::ClientInfo client{*net::IpAddress::parse(c.client), 40000, {}};
        asio::co_spawn(io_, session::serve_session(*stream_, *c.listener, client, services_), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~LiveSession() {
        ::close(fd_);
        thread_.join();
        stream_.reset();
        spool_.reset();
        fs::remove_all(dir_);
    }

    std::vector<std::string> run() {
        std::vector<std::string> out;
        std::string greeting = read();
        // The greeting's text names the host; the code is what the rules decided.
        out.push_back(reply_line("connect", greeting.substr(0, 3) == "220" ? greeting.substr(0, 3) : greeting));
        if (greeting.substr(0, 3) != "220") return out;
        std::string ehlo = talk("EHLO " + c_.ehlo);
        if (ehlo.substr(0, 3) != "250") throw std::runtime_error("EHLO: " + ehlo);
        if (!c_.user.empty()) {
            std::string auth = talk("AUTH PLAIN " + base64(std::string("\0", 1) + c_.user + std::string("\0", 1) + "pw-" + c_.user));
            if (auth.substr(0, 3) != "235") {   // locked out: explain says so too
                out.push_back(reply_line("AUTH", auth));
                return out;
            }
        }
        policy::ExplainQuestion q;
        q.mail_from = c_.mail_from;
        q.size = c_.size;
        q.smtputf8 = c_.smtputf8;
        std::string mail = talk(policy::explain_mail_line(q));
        out.push_back(reply_line("MAIL", mail));
        if (mail.substr(0, 3) != "250") return out;
        std::size_t accepted = 0;
        for (const std::string& r : c_.rcpts) {
            std::string line = policy::explain_rcpt_line(r);
            std::string reply = talk(line);
            out.push_back(reply_line("RCPT " + line.substr(std::string("RCPT TO:").size()), reply));
            if (reply.substr(0, 3) == "250") ++accepted;
        }
        if (accepted == 0) return out;
        std::string data = talk("DATA");
        if (data.substr(0, 3) != "354") throw std::runtime_error("DATA: " + data);
        std::string message;
        for (std::size_t i = 0; i < c_.received_count.value_or(0); ++i)
            message += "Received: from hop" + std::to_string(i) + ".test by next.test; Tue, 1 Dec 2026 17:00:00 +0000\r\n";
        message += "From: <" + c_.mail_from + ">\r\nSubject: golden case\r\n\r\nbody\r\n.";
        std::string end = talk(message);
        if (end.substr(0, 3) != "250") out.push_back(reply_line("DATA", end));
        talk("QUIT");
        return out;
    }

private:
    std::string talk(const std::string& line) {
        std::string s = line + "\r\n";
        if (::write(fd_, s.data(), s.size()) != static_cast<ssize_t>(s.size())) return "";
        return read();
    }
    // One whole reply, as one line: "CODE ENH text" (the last line of a multi-line reply).
    std::string read() {
        while (true) {
            std::size_t start = 0;
            while (true) {
                std::size_t nl = buf_.find("\r\n", start);
                if (nl == std::string::npos) break;
                if (nl - start >= 4 && buf_[start + 3] == ' ') {
                    std::string r = buf_.substr(start, nl - start);
                    buf_.erase(0, nl + 2);
                    return r;
                }
                start = nl + 2;
            }
            char b[4096];
            ssize_t n = ::read(fd_, b, sizeof b);
            if (n <= 0) return "";
            buf_.append(b, static_cast<std::size_t>(n));
        }
    }

    const Case& c_;
    fs::path dir_;
    std::unique_ptr<queue::Spool> spool_;
    std::unique_ptr<directory::Live> live_dir_;
    policy::Brakes& brakes_;
    session::SessionServices services_;
    asio::io_context io_;
    std::unique_ptr<net::SocketStream<asio::local::stream_protocol::socket>> stream_;
    std::thread thread_;
    int fd_ = -1;
    std::string buf_;
};

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(kCases))
        if (e.is_directory()) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

class PolicyCase : public ::testing::TestWithParam<std::string> {};

TEST_P(PolicyCase, ExplainEqualsLive) {
    Case c = load_case(kCases / GetParam());
    // A clock that stands still: the lockout time left in the trace is the same every run.
    const policy::Brakes::Clock::time_point t0 = policy::Brakes::Clock::now();
    policy::Brakes brakes([t0] { return t0; });
    prime(c, brakes);
    policy::ExplainAnswer a = run_explain(c, brakes);
    std::string replies;
    std::vector<std::string> explained;   // without the rule: what a client reads
    for (const policy::ExplainReply& r : a.replies) {
        replies += reply_line(r.command, r.reply.summary()) + "   [" + r.rule + "]\n";
        // The greeting's text is the host name; the code is what the rules decide.
        explained.push_back(r.command == "connect" && r.reply.code == 220 ? reply_line("connect", "220")
                                                                           : reply_line(r.command, r.reply.summary()));
    }
    if (std::getenv("RAMPART_UPDATE_GOLDEN")) {
        std::ofstream(c.dir / "replies.txt", std::ios::binary) << replies;
        std::ofstream(c.dir / "trace.txt", std::ios::binary) << a.text;
    }
    EXPECT_EQ(replies, slurp(c.dir / "replies.txt")) << a.text;
    EXPECT_EQ(a.text, slurp(c.dir / "trace.txt"));
    std::vector<std::string> live = LiveSession(c, brakes).run();
    EXPECT_EQ(explained, live) << a.text;
}

INSTANTIATE_TEST_SUITE_P(Golden, PolicyCase, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                             std::string n = i.param;
                             for (char& ch : n)
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return n;
                         });

}  // namespace
