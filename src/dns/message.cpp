// dns/message.cpp — see message.hpp.
#include "dns/message.hpp"

#include <arpa/inet.h>

namespace rampart::dns {
namespace {

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Reads network-order integers and names from one message, never past its end.
class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> m) : m_(m) {}
    std::size_t pos() const { return pos_; }
    void seek(std::size_t p) { pos_ = p; }
    bool has(std::size_t n) const { return pos_ <= m_.size() && m_.size() - pos_ >= n; }
    std::optional<std::uint16_t> u16() {
        if (!has(2)) return std::nullopt;
        std::uint16_t v = static_cast<std::uint16_t>((m_[pos_] << 8) | m_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    std::optional<std::uint32_t> u32() {
        auto hi = u16();
        auto lo = hi ? u16() : std::nullopt;
        if (!lo) return std::nullopt;
        return (static_cast<std::uint32_t>(*hi) << 16) | *lo;
    }
    // A possibly compressed name at the current position (RFC 1035 §4.1.4); the position
    // moves past its in-place part. Lower-case, no trailing dot; the root is "".
    std::optional<std::string> name() { return name_at(pos_, true); }
    std::optional<std::string> name_at(std::size_t at, bool advance) {
        std::string out;
        std::size_t p = at;
        std::size_t end_in_place = 0;
        bool jumped = false;
        for (int hops = 0;; ) {
            if (p >= m_.size()) return std::nullopt;
            std::uint8_t len = m_[p];
            if ((len & 0xc0) == 0xc0) {
                if (p + 1 >= m_.size() || ++hops > 64) return std::nullopt;
                std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | m_[p + 1];
                if (target >= p) return std::nullopt;   // only backwards: no loops
                if (!jumped) end_in_place = p + 2;
                jumped = true;
                p = target;
                continue;
            }
            if (len & 0xc0) return std::nullopt;   // 0x40/0x80 label types: obsolete
            if (len == 0) {
                if (!jumped) end_in_place = p + 1;
                break;
            }
            if (p + 1 + len > m_.size()) return std::nullopt;
            if (!out.empty()) out += '.';
            for (std::size_t i = 0; i < len; ++i) out += lower(static_cast<char>(m_[p + 1 + i]));
            if (out.size() > 255) return std::nullopt;
            p += 1 + len;
        }
        if (advance) pos_ = end_in_place;
        return out;
    }

private:
    std::span<const std::uint8_t> m_;
    std::size_t pos_ = 0;
};

}  // namespace

Result<std::vector<std::uint8_t>> encode_query(std::uint16_t id, std::string_view name, std::uint16_t type) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.size() > 253) return Error{0, "DNS name too long (over 253 bytes): " + std::string(name)};
    std::vector<std::uint8_t> out;
    out.reserve(name.size() + 2 + 16 + 11);
    put16(out, id);
    put16(out, 0x0100);   // RD
    put16(out, 1);        // QDCOUNT
    put16(out, 0);
    put16(out, 0);
    put16(out, 1);        // ARCOUNT: the OPT record
    std::size_t start = 0;
    while (start < name.size()) {
        std::size_t dot = name.find('.', start);
        if (dot == std::string_view::npos) dot = name.size();
        std::size_t len = dot - start;
        if (len == 0 || len > 63)
            return Error{0, "DNS name has an empty label or one over 63 bytes: " + std::string(name)};
        out.push_back(static_cast<std::uint8_t>(len));
        out.insert(out.end(), name.begin() + static_cast<std::ptrdiff_t>(start), name.begin() + static_cast<std::ptrdiff_t>(dot));
        start = dot + 1;
    }
    out.push_back(0);
    put16(out, type);
    put16(out, 1);        // IN
    // OPT (RFC 6891 §6.1.2): root owner, type 41, class = UDP payload size, TTL 0, no RDATA.
    out.push_back(0);
    put16(out, rr_type::OPT);
    put16(out, 1232);
    put16(out, 0);
    put16(out, 0);
    put16(out, 0);
    return out;
}

Result<Response> decode_response(std::span<const std::uint8_t> message) {
    Reader r(message);
    Response out;
    auto id = r.u16(), flags = r.u16(), qd = r.u16(), an = r.u16(), ns = r.u16(), ar = r.u16();
    if (!ar) return Error{0, "DNS answer shorter than its header"};
    (void)ar;
    if (!(*flags & 0x8000)) return Error{0, "DNS message is not a response"};
    out.id = *id;
    out.rcode = *flags & 0x000f;
    out.truncated = (*flags & 0x0200) != 0;
    for (std::uint16_t i = 0; i < *qd; ++i) {
        auto n = r.name();
        auto t = n ? r.u16() : std::nullopt;
        auto c = t ? r.u16() : std::nullopt;
        if (!c) return Error{0, "DNS answer with a malformed question"};
        if (i == 0) {
            out.question = *n;
            out.question_type = *t;
        }
    }
    auto records = [&](std::uint16_t count, bool answer_section) -> bool {
        for (std::uint16_t i = 0; i < count; ++i) {
            auto owner = r.name();
            auto type = owner ? r.u16() : std::nullopt;
            auto cls = type ? r.u16() : std::nullopt;
            auto ttl = cls ? r.u32() : std::nullopt;
            auto rdlen = ttl ? r.u16() : std::nullopt;
            if (!rdlen || !r.has(*rdlen)) return false;
            std::size_t rd = r.pos();
            std::size_t rd_end = rd + *rdlen;
            std::uint32_t t = *ttl & 0x7fffffffu;   // RFC 2181 §8: a TTL with the top bit set is 0
            if (*ttl & 0x80000000u) t = 0;
            if (!answer_section) {
                if (*type == rr_type::SOA && *cls == 1) {
                    auto mname = r.name();
                    auto rname = mname ? r.name() : std::nullopt;
                    if (!rname || r.pos() + 20 > rd_end) return false;
                    r.seek(r.pos() + 16);   // serial, refresh, retry, expire
                    auto minimum = r.u32();
                    if (!minimum) return false;
                    std::uint32_t neg = std::min(t, *minimum);
                    if (!out.negative_ttl || neg < *out.negative_ttl) out.negative_ttl = neg;
                }
                r.seek(rd_end);
                continue;
            }
            ResourceRecord rec{*owner, *type, t, {}, 0};
            bool keep = *cls == 1;
            const std::uint8_t* p = message.data() + rd;
            switch (*type) {
                case rr_type::A: {
                    char text[INET_ADDRSTRLEN];
                    keep = keep && *rdlen == 4 && inet_ntop(AF_INET, p, text, sizeof text);
                    if (keep) rec.value = text;
                    break;
                }
                case rr_type::AAAA: {
                    char text[INET6_ADDRSTRLEN];
                    keep = keep && *rdlen == 16 && inet_ntop(AF_INET6, p, text, sizeof text);
                    if (keep) rec.value = text;
                    break;
                }
                case rr_type::MX: {
                    auto pref = r.u16();
                    auto exch = pref && r.pos() < rd_end ? r.name() : std::nullopt;
                    if (!exch || r.pos() > rd_end) return false;
                    rec.preference = *pref;
                    rec.value = exch->empty() ? "." : *exch;
                    break;
                }
                case rr_type::PTR:
                case rr_type::CNAME: {
                    auto target = r.name();
                    if (!target || r.pos() > rd_end) return false;
                    rec.value = *target;
                    break;
                }
                case rr_type::TXT: {
                    std::size_t q = 0;
                    while (q < *rdlen) {
                        std::size_t n = p[q++];
                        if (*rdlen - q < n) {
                            keep = false;   // a string running past the RDATA: malformed record
                            break;
                        }
                        rec.value.append(reinterpret_cast<const char*>(p + q), n);
                        q += n;
                    }
                    break;
                }
                default: keep = false; break;
            }
            r.seek(rd_end);
            if (keep) out.answers.push_back(std::move(rec));
        }
        return true;
    };
    if (!records(*an, true)) return Error{0, "DNS answer with a malformed answer record"};
    if (!records(*ns, false)) {
        // A broken authority section does not spoil the answers; only the negative TTL is lost.
        out.negative_ttl.reset();
    }
    return out;
}

}  // namespace rampart::dns
