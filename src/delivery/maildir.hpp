// delivery/maildir.hpp — local delivery into Maildir (tmp → fsync → new, atomic).
// Contract: returns success only after the file is in new/ and new/ is fsync'd.
// Directories it creates are 0700, files 0600: folder names are recipient addresses.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace rampart::delivery {

// The mailbox folder for a recipient: root/<domain>/<local>, each name by folder_name().
std::filesystem::path maildir_path(const std::filesystem::path& root, std::string_view domain, std::string_view local);

// One folder name: lower case, injective (distinct names never share a folder) and safe:
// '/', '%', '\\', a leading '.', control, C1 and bidi characters and ill-formed UTF-8
// become %HH ("a/b" → "a%2Fb", ".." → "%2E."); the empty name is "%".
std::string folder_name(std::string_view name);

// Writes "Return-Path: <sender>\r\nDelivered-To: rcpt\r\n" + message into maildir/new.
// Returns the file name.
Result<std::string> deliver_to_maildir(const std::filesystem::path& maildir, std::string_view sender,
                                       std::string_view recipient, std::string_view message,
                                       const std::string& hostname);

}  // namespace rampart::delivery
