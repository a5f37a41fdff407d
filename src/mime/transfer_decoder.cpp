// mime/transfer_decoder.cpp — base64, quoted-printable and identity decoders (see header).
#include "mime/transfer_decoder.hpp"

#include <array>
#include <cstring>

namespace rampart::mime {

namespace {

// Collects decoded bytes and hands them to the sink in chunks; stops at the byte cap.
class Output {
public:
    Output(const Sink& sink, std::size_t max_bytes, DecodeStatus& st) : sink_(sink), max_(max_bytes), st_(st) {}
    bool stopped() const { return stopped_; }
    void put(char c) {
        if (stopped_) return;
        if (st_.bytes + fill_ >= max_) {
            st_.truncated = true;
            stopped_ = true;
            return;
        }
        buf_[fill_++] = c;
        if (fill_ == buf_.size()) flush();
    }
    void flush() {
        if (fill_ == 0) return;
        std::size_t n = fill_;
        fill_ = 0;
        st_.bytes += n;
        if (!sink_(std::string_view(buf_.data(), n))) {
            st_.truncated = true;
            stopped_ = true;
        }
    }

private:
    const Sink& sink_;
    std::size_t max_;
    DecodeStatus& st_;
    std::array<char, 16384> buf_;
    std::size_t fill_ = 0;
    bool stopped_ = false;
};

constexpr std::array<signed char, 256> base64_table = [] {
    std::array<signed char, 256> t{};
    for (auto& v : t) v = -1;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
    return t;
}();

template <class Put>
void base64(std::string_view in, DecodeStatus& st, Put&& put, const bool& stopped) {
    std::uint32_t acc = 0;
    int n = 0;            // 6-bit groups in acc
    bool padded = false;  // '=' seen: more data is a second, concatenated block
    for (std::size_t i = 0; i < in.size() && !stopped; ++i) {
        unsigned char c = static_cast<unsigned char>(in[i]);
        signed char v = base64_table[c];
        if (v >= 0) {
            if (padded) {
                st.bad = true;   // data after padding: decode it too, as clients do
                padded = false;
            }
            acc = (acc << 6) | static_cast<std::uint32_t>(v);
            if (++n == 4) {
                put(static_cast<char>(acc >> 16));
                put(static_cast<char>(acc >> 8));
                put(static_cast<char>(acc));
                acc = 0;
                n = 0;
            }
        } else if (c == '=') {
            if (padded) continue;
            if (n == 2) put(static_cast<char>(acc >> 4));
            else if (n == 3) {
                put(static_cast<char>(acc >> 10));
                put(static_cast<char>(acc >> 2));
            } else st.bad = true;
            acc = 0;
            n = 0;
            padded = true;
        } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            st.bad = true;
        }
    }
    if (stopped) return;
    if (n == 1) st.bad = true;   // six bits make no byte
    else if (n == 2) put(static_cast<char>(acc >> 4));
    else if (n == 3) {
        put(static_cast<char>(acc >> 10));
        put(static_cast<char>(acc >> 2));
    }
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// RFC 2045 §6.7: trailing whitespace is transport padding; "=" at the end is a soft break.
void quoted_printable(std::string_view in, DecodeStatus& st, Output& out) {
    std::size_t pos = 0;
    while (pos < in.size() && !out.stopped()) {
        const char* nl = static_cast<const char*>(std::memchr(in.data() + pos, '\n', in.size() - pos));
        std::size_t line_end = nl ? static_cast<std::size_t>(nl - in.data()) : in.size();
        std::size_t next = nl ? line_end + 1 : in.size();
        std::size_t e = line_end;
        if (nl && e > pos && in[e - 1] == '\r') --e;
        while (e > pos && (in[e - 1] == ' ' || in[e - 1] == '\t')) --e;
        bool soft = e > pos && in[e - 1] == '=';
        if (soft) --e;
        for (std::size_t i = pos; i < e; ++i) {
            char c = in[i];
            if (c == '=') {
                int hi = i + 2 < e ? hex_value(in[i + 1]) : -1;
                int lo = i + 2 < e ? hex_value(in[i + 2]) : -1;
                if (hi >= 0 && lo >= 0) {
                    out.put(static_cast<char>(hi * 16 + lo));
                    i += 2;
                    continue;
                }
                st.bad = true;   // kept literally (RFC 2045 §6.7 note 1)
            }
            out.put(c);
        }
        if (nl && !soft) {
            out.put('\r');
            out.put('\n');
        }
        pos = next;
    }
}

}  // namespace

DecodeStatus decode(std::string_view body, Encoding encoding, const Sink& sink, std::size_t max_bytes) {
    DecodeStatus st;
    if (is_identity(encoding)) {
        std::size_t n = body.size() < max_bytes ? body.size() : max_bytes;
        for (std::size_t pos = 0; pos < n;) {
            std::size_t len = n - pos < 16384 ? n - pos : 16384;
            st.bytes += len;
            if (!sink(body.substr(pos, len))) {
                st.truncated = pos + len < body.size();
                return st;
            }
            pos += len;
        }
        st.truncated = n < body.size();
        return st;
    }
    Output out(sink, max_bytes, st);
    if (encoding == Encoding::Base64) {
        bool stopped = false;
        base64(body, st, [&](char c) { out.put(c); stopped = out.stopped(); }, stopped);
    } else {
        quoted_printable(body, st, out);
    }
    out.flush();
    return st;
}

DecodeStatus decode(std::string_view input, const Part& part, const Sink& sink, std::size_t max_bytes) {
    return decode(input.substr(part.body_begin, part.body_end - part.body_begin), part.encoding, sink, max_bytes);
}

std::string decode_to_string(std::string_view input, const Part& part, std::size_t max_bytes, DecodeStatus* status) {
    std::string out;
    DecodeStatus st = decode(input, part, [&](std::string_view c) { out.append(c); return true; }, max_bytes);
    if (status) *status = st;
    return out;
}

DecodeStatus decode_base64_to(std::string_view text, std::string& out, std::size_t max_bytes) {
    DecodeStatus st;
    bool stopped = false;
    base64(text, st, [&](char c) {
        if (st.bytes >= max_bytes) {
            st.truncated = stopped = true;
            return;
        }
        out += c;
        ++st.bytes;
    }, stopped);
    return st;
}

}  // namespace rampart::mime
