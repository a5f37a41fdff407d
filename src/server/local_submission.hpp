// server/local_submission.hpp — the local submission socket data_dir/submit.sock, where
// `rampart sendmail` hands mail to the running server (issue 12). Any local user may
// connect (mode 0666); the kernel names the user (SO_PEERCRED), who is then the
// authenticated principal of an ordinary SMTP session under the policy of the listener
// `[server] local_submission`: the same receive path (policy, filters, normalisation,
// headers, spool commit) as a TCP client, never an open relay. Like a TCP listener's, each
// session takes the server's current configuration generation (server::Generation) when it
// is accepted and keeps it to its end, so a reload (SIGHUP) applies to the next sendmail.
// Trust: the peer's uid (kernel); everything the peer sends is untrusted as on any listener.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>

#include <asio/any_io_executor.hpp>

#include "config/config.hpp"
#include "server/server.hpp"
#include "util/result.hpp"

namespace rampart::server {

std::filesystem::path submit_socket_path(const std::filesystem::path& data_dir);

class LocalSubmission {
public:
    // `server` must outlive this object; `ex` is its main context's executor (where the
    // server's generation is read and replaced). `server_uid`: the uid the server runs as
    // after start-up (its user may, like root, send as any address).
    LocalSubmission(asio::any_io_executor ex, std::filesystem::path socket_path, const Server& server, uid_t server_uid);
    ~LocalSubmission();

    // Binds the socket (a stale file is replaced) and starts accepting.
    Result<Ok> open();
    // Stops accepting and removes the socket file; sessions in progress run to their end.
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The socket of the listener `[server] local_submission` (in the server's current
// generation), listening, or null: off (no such listener; logged as submit.off) or it could
// not be made (submit.unavailable). `ex`: as for LocalSubmission.
std::unique_ptr<LocalSubmission> open_local_submission(asio::any_io_executor ex, const Server& server,
                                                       const std::filesystem::path& data_dir, uid_t server_uid);

}  // namespace rampart::server
