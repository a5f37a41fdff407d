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

}  // namespace rampart::util
