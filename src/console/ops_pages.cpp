// console/ops_pages.cpp — registers the operations pages and holds what they share (see the header).
#include "console/ops_pages.hpp"

#include <charconv>
#include <chrono>

namespace rampart::console {

void add_ops_pages(Console& console) {
    add_explain_page(console);
    add_queue_pages(console);
    add_quarantine_pages(console);
    add_tracking_page(console);
    add_directory_page(console);
}

Paging paginate(std::size_t total, std::optional<std::string_view> page_field, std::size_t per_page) {
    Paging p;
    if (per_page == 0) per_page = 1;
    p.pages = total == 0 ? 1 : (total + per_page - 1) / per_page;
    std::size_t want = 1;
    if (page_field) {
        auto [ptr, ec] = std::from_chars(page_field->data(), page_field->data() + page_field->size(), want);
        if (ec != std::errc() || ptr != page_field->data() + page_field->size() || want == 0) want = 1;
    }
    p.page = std::min(want, p.pages);
    p.first = (p.page - 1) * per_page;
    p.count = std::min(per_page, total - std::min(total, p.first));
    return p;
}

std::string pager_html(const Paging& p, std::string_view path, std::string_view query, std::string_view param) {
    if (p.pages <= 1) return {};
    auto link = [&](std::size_t page, std::string_view text) {
        std::string href = std::string(path) + "?" + std::string(query) + (query.empty() ? "" : "&") + std::string(param) + "=" +
                           std::to_string(page);
        return "<a href=\"" + escape(href) + "\">" + std::string(text) + "</a>";
    };
    std::string out = "<p class=\"pager\">";
    if (p.page > 1) out += link(p.page - 1, "&larr; previous") + " ";
    out += "page " + std::to_string(p.page) + " of " + std::to_string(p.pages);
    if (p.page < p.pages) out += " " + link(p.page + 1, "next &rarr;");
    return out + "</p>";
}

std::string age_text(std::int64_t s) {
    if (s < 0) s = 0;
    if (s < 120) return std::to_string(s) + "s";
    if (s < 7200) return std::to_string(s / 60) + "m";
    if (s < 172800) return std::to_string(s / 3600) + "h";
    return std::to_string(s / 86400) + "d";
}

std::string tracking_link(std::string_view id) {
    return "<a href=\"/console/tracking?id=" + escape(url_encode(id)) + "\">tracking</a>";
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool plausible_queue_id(std::string_view id) {
    if (id.empty() || id.size() > 64 || id.front() == '-') return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace rampart::console
