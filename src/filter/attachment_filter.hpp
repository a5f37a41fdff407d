// filter/attachment_filter.hpp — the attachment filter agent (DESIGN.md §5, §11
// [attachment_filter], issue 10): at end of data every leaf part (inside multiparts and
// message/rfc822 parts alike) is matched by file name (Content-Disposition filename and
// Content-Type name, RFC 2231 and encoded words decoded by the MIME parser; globs,
// case-insensitive, trailing dots and spaces ignored, directory parts ignored), by its
// declared Content-Type and by the type sniffed from its decoded bytes, so a false name or
// type does not hide an executable. Zip archives (nested) are opened and their members
// matched by name and sniffed type.
// Trust: the message is hostile; every bound is the MIME parser's (mime::Limits) and the
// zip lister's (mime::ZipLimits). What cannot be inspected (an encrypted or corrupt zip, a
// bomb, nesting too deep, a part the parser could not open) gets `unreadable_archives`
// (default: blocked). Hygiene: never skipped for authenticated users. Pure: no network.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "filter/agent.hpp"
#include "mime/structure.hpp"

namespace rampart::filter {

// One blocked thing: a part of the message, or a member of a zip inside it.
struct AttachmentHit {
    std::size_t part = 0;        // index in mime::Structure::parts of the part to act on
    std::string name;            // what the user would see: "invoice.pdf", "docs.zip/evil.exe"
    std::string rule;            // "attachment_filter.names" | ".types" | ".unreadable_archives"
    std::string why;             // "name matches *.exe", "sniffed type application/x-dosexec"
};

// True if `name` matches the glob (`*` any run, `?` one byte), ASCII case-insensitive.
bool glob_match(std::string_view pattern, std::string_view name);

class AttachmentFilter final : public Agent {
public:
    explicit AttachmentFilter(config::AttachmentFilterSettings settings) : settings_(std::move(settings)) {}
    std::string_view name() const override { return "attachment_filter"; }
    AgentClass agent_class() const override { return AgentClass::Hygiene; }
    bool network() const override { return false; }
    bool bound_to(Stage stage) const override { return stage == Stage::EndOfData; }
    std::unique_ptr<AgentRun> start(const SessionInfo& session) const override;

    // Every blocked part of `message` (parsed as `structure`), outermost first; a part is
    // listed once (its first reason) and never together with a part inside it.
    std::vector<AttachmentHit> inspect(std::string_view message, const mime::Structure& structure) const;
    // The decision for one message (the agent's whole logic, also used by tests).
    AgentVerdict judge(std::string_view message, const mime::Structure& structure) const;

private:
    config::AttachmentFilterSettings settings_;
};

}  // namespace rampart::filter
