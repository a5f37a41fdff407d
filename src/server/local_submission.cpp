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

struct LocalSubmission::Impl {
    asio::any_io_executor ex;
    std::filesystem::path path;
    const config::Listener& listener;
    session::SessionServices& services;
    uid_t server_uid;
    std::unique_ptr<net::UnixListener> socket;
    unsigned active = 0;   // sessions running (all on `ex`, one thread)

    Impl(asio::any_io_executor e, std::filesystem::path p, const config::Listener& l, session::SessionServices& s, uid_t u)
        : ex(std::move(e)), path(std::move(p)), listener(l), services(s), server_uid(u) {}

    asio::awaitable<void> serve(Socket s) {
        ucred cred{};
        socklen_t len = sizeof cred;
        std::error_code ec;
        if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) co_return;
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
            co_await session::serve_session(stream, listener, client, services);
        }
        --active;
    }
};

LocalSubmission::LocalSubmission(asio::any_io_executor ex, std::filesystem::path socket_path, const config::Listener& listener,
                                 session::SessionServices& services, uid_t server_uid)
    : impl_(std::make_unique<Impl>(std::move(ex), std::move(socket_path), listener, services, server_uid)) {}

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

std::unique_ptr<LocalSubmission> open_local_submission(asio::any_io_executor ex, const config::Config& cfg,
                                                       const std::filesystem::path& data_dir, session::SessionServices& services,
                                                       uid_t server_uid) {
    const std::string& name = cfg.server.local_submission;
    if (name.empty()) return nullptr;
    auto it = std::find_if(cfg.listeners.begin(), cfg.listeners.end(), [&](const config::Listener& l) { return l.name == name; });
    if (it == cfg.listeners.end()) {
        log::info("submit.off", {{"reason", "no listener named " + name + " (server.local_submission)"}});
        return nullptr;
    }
    std::filesystem::path path = submit_socket_path(data_dir);
    auto s = std::make_unique<LocalSubmission>(std::move(ex), path, *it, services, server_uid);
    if (auto r = s->open(); !r) {
        log::error("submit.unavailable", {{"error", r.error().message}, {"effect", "rampart sendmail cannot reach this server"}});
        return nullptr;
    }
    log::info("submit.listening", {{"listener", it->name}, {"socket", path.string()}});
    return s;
}

}  // namespace rampart::server
