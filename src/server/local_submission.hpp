// server/local_submission.hpp — the local submission socket data_dir/submit.sock, where
// `rampart sendmail` hands mail to the running server (issue 12). Any local user may
// connect (mode 0666); the kernel names the user (SO_PEERCRED), who is then the
// authenticated principal of an ordinary SMTP session under the policy of the listener
// `[server] local_submission`: the same receive path (policy, filters, normalisation,
// headers, spool commit) as a TCP client, never an open relay.
// Trust: the peer's uid (kernel); everything the peer sends is untrusted as on any listener.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>

#include <asio/any_io_executor.hpp>

#include "config/config.hpp"
#include "session/server_session.hpp"
#include "util/result.hpp"

namespace rampart::server {

std::filesystem::path submit_socket_path(const std::filesystem::path& data_dir);

class LocalSubmission {
public:
    // `listener` and `services` must outlive this object. `server_uid`: the uid the server
    // runs as after start-up (its user may, like root, send as any address).
    LocalSubmission(asio::any_io_executor ex, std::filesystem::path socket_path, const config::Listener& listener,
                    session::SessionServices& services, uid_t server_uid);
    ~LocalSubmission();

    // Binds the socket (a stale file is replaced) and starts accepting.
    Result<Ok> open();
    // Stops accepting and removes the socket file; sessions in progress run to their end.
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The socket of the listener `[server] local_submission`, listening, or null: off (no such
// listener; logged as submit.off) or it could not be made (submit.unavailable).
std::unique_ptr<LocalSubmission> open_local_submission(asio::any_io_executor ex, const config::Config& cfg,
                                                       const std::filesystem::path& data_dir, session::SessionServices& services,
                                                       uid_t server_uid);

}  // namespace rampart::server
