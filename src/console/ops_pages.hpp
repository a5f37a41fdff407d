// console/ops_pages.hpp — the operations pages (docs/console.md "## Pages"): explain, queue,
// quarantine, tracking, users and groups; and what they share (paging, ages, links).
// Trust: every value shown went through console::escape; every action is a POST behind the
// console's gate and calls audit_change. Bounded: at most kRowsPerPage rows per table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "console/console.hpp"

namespace rampart::console {

// Every operations page, in navigation order (cli/admin_listener.cpp calls this once).
void add_ops_pages(Console& console);

void add_explain_page(Console& console);      // console/explain_page.cpp
void add_queue_pages(Console& console);       // console/queue_page.cpp
void add_quarantine_pages(Console& console);  // console/quarantine_page.cpp
void add_tracking_page(Console& console);     // console/tracking_page.cpp
void add_directory_page(Console& console);    // console/directory_page.cpp

inline constexpr std::size_t kRowsPerPage = 50;

// Which rows of `total` page `page_field` (1-based; missing or bad: 1; past the end: the last) shows.
struct Paging {
    std::size_t first = 0;   // index of the first row shown
    std::size_t count = 0;   // rows shown
    std::size_t page = 1;
    std::size_t pages = 1;
};
Paging paginate(std::size_t total, std::optional<std::string_view> page_field, std::size_t per_page = kRowsPerPage);
// "page 2 of 5" with links to the previous and next pages: `path` with `query` (already
// url-encoded "k=v&..." of the filters to keep) and `param`=N.
std::string pager_html(const Paging& p, std::string_view path, std::string_view query, std::string_view param = "page");

// "42s", "5m", "3h", "2d".
std::string age_text(std::int64_t seconds);
// A link to the tracking search for a queue or tracking id.
std::string tracking_link(std::string_view id);
// Unix seconds now.
std::int64_t now_seconds();
// An id the queue tools accept as one word (letters, digits, '.', '_', '-'; not starting with '-').
bool plausible_queue_id(std::string_view id);

}  // namespace rampart::console
