// mime/zip.cpp — zip member lister (see header). The central directory is authoritative
// (it is what extractors show); each member's data is found through its local header.
#include "mime/zip.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "mime/sniff.hpp"

namespace rampart::mime {

namespace {

using Bytes = std::span<const unsigned char>;

std::uint64_t le(Bytes b, std::size_t off, int n) {
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[off + static_cast<std::size_t>(i)];
    return v;
}
bool sig(Bytes b, std::size_t off, const char* s) {
    return off <= b.size() && b.size() - off >= 4 && std::memcmp(b.data() + off, s, 4) == 0;
}

struct Context {
    const ZipLimits& lim;
    ZipListing out;
    std::size_t inflated = 0;

    void problem(std::string what) {
        out.malformed = true;
        if (out.problem.empty()) out.problem = std::move(what);
    }
    void limit(std::string what) {
        out.truncated = true;
        if (out.problem.empty()) out.problem = std::move(what);
    }
};

// Raw deflate of `in` into at most `cap` bytes. Returns false on corrupt data.
bool inflate_raw(Bytes in, std::size_t cap, std::string& out) {
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return false;
    out.clear();
    std::size_t in_pos = 0;
    bool ok = true;
    while (out.size() < cap) {
        std::size_t old = out.size();
        std::size_t grow = std::min<std::size_t>(cap - old, 64 * 1024);
        out.resize(old + grow);
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
        zs.avail_out = static_cast<uInt>(grow);
        std::size_t chunk = std::min<std::size_t>(in.size() - in_pos, 1u << 30);
        zs.next_in = const_cast<Bytef*>(in.data() + in_pos);
        zs.avail_in = static_cast<uInt>(chunk);
        int rc = inflate(&zs, Z_NO_FLUSH);
        in_pos += chunk - zs.avail_in;
        out.resize(old + (grow - zs.avail_out));
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            ok = false;
            break;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_pos >= in.size()) {   // input ended early
            ok = false;
            break;
        }
    }
    inflateEnd(&zs);
    return ok;
}

void list(Bytes b, std::size_t depth, std::size_t parent, Context& ctx);

// Reads member `m` (local header at `local`), sniffs it and lists it if it is a zip.
void inspect(Bytes b, std::size_t local, std::size_t idx, Context& ctx) {
    ZipMember& m = ctx.out.members[idx];
    if (m.encrypted || m.directory || (m.method != 0 && m.method != 8)) return;
    if (!sig(b, local, "PK\x03\x04") || b.size() - local < 30) {
        ctx.problem("member without local header: " + m.name);
        return;
    }
    std::size_t data = local + 30 + le(b, local + 26, 2) + le(b, local + 28, 2);
    if (data > b.size()) {
        ctx.problem("member data outside the archive: " + m.name);
        return;
    }
    std::size_t avail = b.size() - data;
    if (m.compressed_size > avail) ctx.problem("member data truncated: " + m.name);
    Bytes raw = b.subspan(data, std::min<std::uint64_t>(m.compressed_size, avail));
    const std::size_t member_depth = m.depth;
    const bool nest = member_depth + 1 < ctx.lim.max_depth;
    std::string inflated;
    Bytes content = raw;
    if (m.method == 8) {
        const std::size_t budget = ctx.lim.max_inflated_total - std::min(ctx.inflated, ctx.lim.max_inflated_total);
        // Inflate the head; all of it only if it turns out to be a zip to list.
        std::size_t cap = std::min(budget, ctx.lim.sniff_bytes);
        bool ok = inflate_raw(raw, cap, inflated);
        Bytes head(reinterpret_cast<const unsigned char*>(inflated.data()), inflated.size());
        if (ok && nest && looks_like_zip(head) && inflated.size() == cap && cap < budget) {
            cap = budget;
            ok = inflate_raw(raw, cap, inflated);
        }
        ctx.inflated += inflated.size();
        if (!ok) ctx.problem("corrupt deflate data: " + ctx.out.members[idx].name);
        if (inflated.size() == budget && budget < ctx.out.members[idx].uncompressed_size)
            ctx.limit("inflated size limit reached");
        content = Bytes(reinterpret_cast<const unsigned char*>(inflated.data()), inflated.size());
    }
    ZipMember& mm = ctx.out.members[idx];
    mm.sniffed = sniff(content.first(std::min(content.size(), ctx.lim.sniff_bytes)));
    mm.sniffed_ok = true;
    if (looks_like_zip(content)) {
        if (nest) list(content, member_depth + 1, idx, ctx);
        else ctx.limit("zip nesting limit reached");
    }
}

// Zip64 end of central directory (APPNOTE 4.3.14/4.3.15), if the locator precedes eocd.
bool zip64_directory(Bytes b, std::size_t eocd, std::uint64_t* count, std::uint64_t* size, std::uint64_t* offset) {
    if (eocd < 20 || !sig(b, eocd - 20, "PK\x06\x07")) return false;
    std::uint64_t rec = le(b, eocd - 20 + 8, 8);
    if (rec > b.size() || b.size() - rec < 56 || !sig(b, rec, "PK\x06\x06")) return false;
    *count = le(b, rec + 32, 8);
    *size = le(b, rec + 40, 8);
    *offset = le(b, rec + 48, 8);
    return true;
}

void zip64_extra(Bytes extra, ZipMember& m, std::uint64_t* local) {
    for (std::size_t p = 0; p + 4 <= extra.size();) {
        std::size_t id = le(extra, p, 2), len = le(extra, p + 2, 2);
        if (p + 4 + len > extra.size()) break;
        if (id == 1) {
            std::size_t q = p + 4, e = p + 4 + len;
            if (m.uncompressed_size == 0xFFFFFFFF && q + 8 <= e) m.uncompressed_size = le(extra, q, 8), q += 8;
            if (m.compressed_size == 0xFFFFFFFF && q + 8 <= e) m.compressed_size = le(extra, q, 8), q += 8;
            if (*local == 0xFFFFFFFF && q + 8 <= e) *local = le(extra, q, 8);
        }
        p += 4 + len;
    }
}

bool add_member(std::string_view name, std::size_t depth, std::size_t parent, Context& ctx) {
    if (ctx.out.members.size() >= ctx.lim.max_members) {
        ctx.limit("member limit reached");
        return false;
    }
    ZipMember m;
    m.name = std::string(name.substr(0, ctx.lim.max_name_bytes));
    m.name_cut = name.size() > ctx.lim.max_name_bytes;
    m.directory = !name.empty() && name.back() == '/';
    m.depth = depth;
    m.parent = parent;
    ctx.out.members.push_back(std::move(m));
    return true;
}

// Without a central directory (a cut archive): follow local headers while sizes are known.
void walk_local(Bytes b, std::size_t depth, std::size_t parent, Context& ctx) {
    std::size_t pos = 0;
    while (sig(b, pos, "PK\x03\x04") && b.size() - pos >= 30) {
        std::size_t n = le(b, pos + 26, 2), e = le(b, pos + 28, 2);
        if (b.size() - pos - 30 < n) break;
        std::string_view name(reinterpret_cast<const char*>(b.data() + pos + 30), n);
        if (!add_member(name, depth, parent, ctx)) return;
        std::size_t idx = ctx.out.members.size() - 1;
        ZipMember& m = ctx.out.members[idx];
        std::uint16_t flags = static_cast<std::uint16_t>(le(b, pos + 6, 2));
        m.method = static_cast<std::uint16_t>(le(b, pos + 8, 2));
        m.encrypted = flags & 1;
        m.compressed_size = le(b, pos + 18, 4);
        m.uncompressed_size = le(b, pos + 22, 4);
        inspect(b, pos, idx, ctx);
        if (flags & 0x08) break;   // sizes follow the data: the next header cannot be found
        std::uint64_t next = pos + 30 + n + e + ctx.out.members[idx].compressed_size;
        if (next > b.size()) break;
        pos = static_cast<std::size_t>(next);
    }
}

void list(Bytes b, std::size_t depth, std::size_t parent, Context& ctx) {
    std::size_t eocd = std::string::npos;
    if (b.size() >= 22) {
        std::size_t lowest = b.size() - 22 > 65535 ? b.size() - 22 - 65535 : 0;
        if (depth > 0) {
            // Central directory entries may all point at one nested zip (overlapping
            // members): searching its end record counts against the inflate budget too.
            ctx.inflated += b.size() - lowest;
            if (ctx.inflated > ctx.lim.max_inflated_total) {
                ctx.limit("inflated size limit reached");
                return;
            }
        }
        for (std::size_t p = b.size() - 22 + 1; p-- > lowest;)
            if (sig(b, p, "PK\x05\x06")) {
                eocd = p;
                break;
            }
    }
    if (eocd == std::string::npos) {
        ctx.problem("no central directory");
        walk_local(b, depth, parent, ctx);
        return;
    }
    std::uint64_t count = le(b, eocd + 10, 2), cd_size = le(b, eocd + 12, 4), cd_offset = le(b, eocd + 16, 4);
    if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF)
        zip64_directory(b, eocd, &count, &cd_size, &cd_offset);
    // Data before the archive (self-extractors) shifts every offset by the same amount.
    std::uint64_t shift = 0;
    if (cd_offset + cd_size < eocd) shift = eocd - (cd_offset + cd_size);
    std::uint64_t pos = cd_offset + shift;
    if (pos > b.size()) {
        ctx.problem("central directory outside the archive");
        walk_local(b, depth, parent, ctx);
        return;
    }
    for (std::uint64_t i = 0; i < count; ++i) {
        if (!sig(b, pos, "PK\x01\x02") || b.size() - pos < 46) {
            ctx.problem("central directory shorter than its count");
            return;
        }
        std::size_t p = static_cast<std::size_t>(pos);
        std::size_t n = le(b, p + 28, 2), e = le(b, p + 30, 2), c = le(b, p + 32, 2);
        if (b.size() - p - 46 < n + e) {
            ctx.problem("central directory entry outside the archive");
            return;
        }
        std::string_view name(reinterpret_cast<const char*>(b.data() + p + 46), n);
        if (!add_member(name, depth, parent, ctx)) return;
        std::size_t idx = ctx.out.members.size() - 1;
        ZipMember& m = ctx.out.members[idx];
        m.encrypted = le(b, p + 8, 2) & 1;
        m.method = static_cast<std::uint16_t>(le(b, p + 10, 2));
        m.compressed_size = le(b, p + 20, 4);
        m.uncompressed_size = le(b, p + 24, 4);
        std::uint64_t local = le(b, p + 42, 4);
        zip64_extra(b.subspan(p + 46 + n, e), m, &local);
        if (local + shift <= b.size()) inspect(b, static_cast<std::size_t>(local + shift), idx, ctx);
        else ctx.problem("member without local header: " + ctx.out.members[idx].name);
        pos += 46 + n + e + c;
    }
}

}  // namespace

bool looks_like_zip(std::span<const unsigned char> b) {
    return sig(b, 0, "PK\x03\x04") || sig(b, 0, "PK\x05\x06") || sig(b, 0, "PK\x07\x08");
}

ZipListing list_zip(std::span<const unsigned char> archive, const ZipLimits& limits) {
    Context ctx{limits, {}, 0};
    list(archive, 0, no_parent, ctx);
    return std::move(ctx.out);
}

}  // namespace rampart::mime
