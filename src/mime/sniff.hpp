// mime/sniff.hpp — the type of content from its first bytes (magic numbers), whatever its
// name or declared type says: executables (PE, ELF, Mach-O, Java class, Windows shortcut),
// archives (zip and its Office/ODF/jar/apk kinds, rar, 7z, gzip, bzip2, xz, zstd, cab, tar,
// ISO 9660), documents (PDF, OLE2, RTF), scripts (#!), images, HTML/XML, and a text or
// binary fallback. Our own table of published signatures, no libmagic: pure and fuzzable.
// Trust: bytes are hostile; reads stay inside the span. Give at least 64 KiB where
// available (ISO 9660 is recognised at offset 32769; Office kinds by zip member names).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "mime/structure.hpp"

namespace rampart::mime {

SniffedType sniff(std::span<const unsigned char> first_bytes);

inline SniffedType sniff(std::string_view first_bytes) {
    return sniff(std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(first_bytes.data()),
                                                first_bytes.size()));
}

}  // namespace rampart::mime
