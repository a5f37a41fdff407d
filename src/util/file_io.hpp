// util/file_io.hpp — small POSIX file helpers shared by the spool and Maildir delivery.
// Errors come back as Result with the path and errno in the message (logs only).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace rampart::util {

// write(2) until everything is written; retries EINTR.
Result<Ok> write_all(int fd, std::string_view data);
// The whole file.
Result<std::string> read_file(const std::filesystem::path& path);
// fsync(2) of a directory, making new or renamed entries in it durable.
Result<Ok> fsync_dir(const std::filesystem::path& dir);
// Replaces `path` with `data` atomically and durably: a temporary file beside it
// (mode `mode`), fsync, rename over `path`, fsync of the directory. Readers see the old
// or the new content, never a mix, also after a crash.
Result<Ok> write_file_atomic(const std::filesystem::path& path, std::string_view data, unsigned mode = 0600);

}  // namespace rampart::util
