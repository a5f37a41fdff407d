// server/local_submission.cpp — accept loop of data_dir/submit.sock.
#include "server/local_submission.hpp"

#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "net/socket_stream.hpp"
#include "net/unix_listener.hpp"
#include "smtp/reply.hpp"
#include "util/log.hpp"

namespace rampart::server {

using Socket = asio::local::stream_protocol::socket;

namespace {

// Local sessions at once: a local user looping on sendmail cannot take every descriptor.
constexpr unsigned kMaxLocalSessions = 64;

std::string user_name(uid_t uid) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) return found->pw_name;
    return "uid" + std::to_string(uid);
}

}  // namespace

std::filesystem::path submit_socket_path(const std::filesystem::path& data_dir) { return data_dir / "submit.sock"; }

namespace {

// The listener `[server] local_submission` names in `cfg`, or null.
const config::Listener* submission_listener(const config::Config& cfg) {
    const std::string& name = cfg.server.local_submission;
    auto it = std::find_if(cfg.listeners.begin(), cfg.listeners.end(), [&](const config::Listener& l) { return l.name == name; });
    return name.empty() || it == cfg.listeners.end() ? nullptr : &*it;
}

}  // namespace

struct LocalSubmission::Impl {
    asio::any_io_executor ex;
    std::filesystem::path path;
    const Server& server;
    uid_t server_uid;
    std::unique_ptr<net::UnixListener> socket;
    unsigned active = 0;   // sessions running (all on `ex`, one thread)

    Impl(asio::any_io_executor e, std::filesystem::path p, const Server& s, uid_t u)
        : ex(std::move(e)), path(std::move(p)), server(s), server_uid(u) {}

    asio::awaitable<void> serve(Socket s) {
        ucred cred{};
        socklen_t len = sizeof cred;
        std::error_code ec;
        if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) co_return;
        // The generation of now, held to the session's end, as a TCP listener's session does.
        std::shared_ptr<const Generation> gen = server.generation();
        const config::Listener* l = submission_listener(*gen->config);
        if (!l) {   // a reload removed the listener (server.local_submission itself needs a restart)
            log::warn("submit.off", {{"reason", "no listener named " + gen->config->server.local_submission + " (server.local_submission)"}});
            std::string r = smtp::Reply(421, "4.3.2", "local submission is off on this server").wire();
            co_await asio::async_write(s, asio::buffer(r), asio::redirect_error(asio::use_awaitable, ec));
            co_return;
        }
        const config::Listener& listener = *l;
        if (active >= kMaxLocalSessions) {
            log::warn("smtp.connection.limited", {{"listener", listener.name}, {"client", "local"}, {"uid", cred.uid},
                                                  {"rule", "local_submission"}, {"reason", "too many local submissions at once"}});
            std::string r = smtp::Reply(421, "4.3.2", "too many local submissions at once; try again later").wire();
            co_await asio::async_write(s, asio::buffer(r), asio::redirect_error(asio::use_awaitable, ec));
            co_return;
        }
        ++active;
        session::ClientInfo client;
        client.address = *net::IpAddress::parse("127.0.0.1");   // on this machine
        client.local = session::LocalUser{cred.uid, user_name(cred.uid), cred.uid == 0 || cred.uid == server_uid};
        {
            net::SocketStream<Socket> stream(std::move(s));
            co_await session::serve_session(stream, listener, client, gen->services);
        }
        --active;
    }
};

LocalSubmission::LocalSubmission(asio::any_io_executor ex, std::filesystem::path socket_path, const Server& server, uid_t server_uid)
    : impl_(std::make_unique<Impl>(std::move(ex), std::move(socket_path), server, server_uid)) {}

LocalSubmission::~LocalSubmission() { close(); }

void LocalSubmission::close() { impl_->socket.reset(); }

Result<Ok> LocalSubmission::open() {
    // A stale file is replaced: the control socket already proved no other server runs on
    // data_dir. Mode 0666: every local user; the uid is checked per connection.
    auto socket = net::UnixListener::open(impl_->ex, impl_->path, 0666, 64, "submission socket");
    if (!socket) return socket.error();
    impl_->socket = std::move(*socket);
    impl_->socket->accept([impl = impl_.get()](Socket s) { asio::co_spawn(impl->ex, impl->serve(std::move(s)), asio::detached); });
    return Ok{};
}

std::unique_ptr<LocalSubmission> open_local_submission(asio::any_io_executor ex, const Server& server,
                                                       const std::filesystem::path& data_dir, uid_t server_uid) {
    const config::Config& cfg = *server.generation()->config;
    const std::string& name = cfg.server.local_submission;
    if (name.empty()) return nullptr;
    const config::Listener* it = submission_listener(cfg);
    if (!it) {
        log::info("submit.off", {{"reason", "no listener named " + name + " (server.local_submission)"}});
        return nullptr;
    }
    std::filesystem::path path = submit_socket_path(data_dir);
    auto s = std::make_unique<LocalSubmission>(std::move(ex), path, server, server_uid);
    if (auto r = s->open(); !r) {
        log::error("submit.unavailable", {{"error", r.error().message}, {"effect", "rampart sendmail cannot reach this server"}});
        return nullptr;
    }
    log::info("submit.listening", {{"listener", it->name}, {"socket", path.string()}});
    return s;
}

}  // namespace rampart::server
