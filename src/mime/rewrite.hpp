// mime/rewrite.hpp — a new message from a parsed one with parts replaced or removed and
// top-level header fields added or removed (the attachment filter's "strip" action).
// Contract: every byte not touched by an edit is copied unchanged, boundaries and all, so
// the result has the same MIME structure apart from the edits. Edits that would break it are
// refused with an Error naming the edit, never half applied: a replacement that contains an
// enclosing boundary or a bare CR/LF, removing every part of a multipart, removing a part
// that is not in a multipart, overlapping edits, Content-* fields of the message.
// Pure; linear in the message size.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "mime/structure.hpp"
#include "util/result.hpp"

namespace rampart::mime {

struct Edit {
    enum class Kind { ReplacePart, RemovePart, AddHeader, RemoveHeader };
    Kind kind = Kind::ReplacePart;
    std::size_t part = 0;      // ReplacePart, RemovePart: index in Structure::parts (not 0)
    std::string entity;        // ReplacePart: header fields, blank line, body, CRLF line ends
    std::string name;          // AddHeader, RemoveHeader (case-insensitive for removal)
    std::string value;         // AddHeader: one line, no CR or LF
    bool prepend = false;      // AddHeader: at the top (trace fields) instead of after the last field

    static Edit replace(std::size_t part, std::string entity) { return {Kind::ReplacePart, part, std::move(entity), {}, {}, false}; }
    static Edit remove(std::size_t part) { return {Kind::RemovePart, part, {}, {}, {}, false}; }
    static Edit add_header(std::string name, std::string value, bool prepend = false) {
        return {Kind::AddHeader, 0, {}, std::move(name), std::move(value), prepend};
    }
    static Edit remove_header(std::string name) { return {Kind::RemoveHeader, 0, {}, std::move(name), {}, false}; }
};

// A text/plain; charset=utf-8 entity saying `text` (LF or CRLF line ends; sent as 7bit
// when it is short-lined ASCII, else base64): the "attachment removed" notice.
std::string text_part(std::string_view text);

Result<std::string> rewrite(std::string_view message, const Structure& structure, std::span<const Edit> edits);

}  // namespace rampart::mime
