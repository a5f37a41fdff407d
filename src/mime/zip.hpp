// mime/zip.hpp — the members of a zip archive (PKWARE APPNOTE.TXT), for the attachment
// filter: names, sizes, encryption, and the sniffed type of each member's first bytes
// (stored members directly, deflated ones through zlib), with zips inside zips listed
// to ZipLimits::max_depth.
// Trust: the archive is hostile. Every offset is checked against the buffer, member count,
// depth and the total of inflated bytes are bounded (a zip bomb costs at most
// max_inflated_total bytes and time to match), and whatever cannot be read is reported in
// ZipListing, never a crash. Pure apart from zlib.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mime/structure.hpp"

namespace rampart::mime {

struct ZipLimits {
    std::size_t max_members = 10000;                  // over all nesting levels
    std::size_t max_depth = 4;                        // zips inside zips, counting the outer one as 1
    std::size_t max_inflated_total = 64 * 1024 * 1024;  // inflated (and nested-scanned) bytes, all members together
    std::size_t sniff_bytes = 64 * 1024;
    std::size_t max_name_bytes = 1024;
};

struct ZipMember {
    std::string name;                  // as stored: UTF-8 (flag bit 11) or CP437 bytes, cut at max_name_bytes
    std::size_t parent = no_parent;    // index of the member this one is inside (nested zip)
    std::size_t depth = 0;             // 0: a member of the archive given
    std::uint16_t method = 0;          // 0 stored, 8 deflated, others not read
    std::uint64_t compressed_size = 0;
    std::uint64_t uncompressed_size = 0;   // as declared
    bool encrypted = false;
    bool directory = false;
    bool name_cut = false;             // the stored name was longer than max_name_bytes
    bool sniffed_ok = false;           // false: encrypted, unsupported method or unreadable data
    SniffedType sniffed;
};

struct ZipListing {
    std::vector<ZipMember> members;
    bool malformed = false;   // no central directory, bad offsets, corrupt deflate data
    bool truncated = false;   // a ZipLimits bound was reached: the list is incomplete
    std::string problem;      // the first problem, for logs
};

// True if the bytes start like a zip archive (local header, empty archive, spanned marker).
bool looks_like_zip(std::span<const unsigned char> bytes);

ZipListing list_zip(std::span<const unsigned char> archive, const ZipLimits& limits = {});

inline ZipListing list_zip(std::string_view archive, const ZipLimits& limits = {}) {
    return list_zip(std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(archive.data()), archive.size()),
                    limits);
}

}  // namespace rampart::mime
