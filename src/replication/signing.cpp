// replication/signing.cpp — Ed25519, HMAC-SHA-256 and helpers on OpenSSL (see signing.hpp).
#include "replication/signing.hpp"

#include <memory>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "directory/mailbox.hpp"
#include "net/certificate.hpp"
#include "replication/codec.hpp"
#include "util/file_io.hpp"

namespace rampart::replication {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey read_private(std::string_view pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* p = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return Pkey(p);
}

std::string public_hex_of(EVP_PKEY* p) {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(p, raw, &len) != 1) return "";
    return to_hex(std::string_view(reinterpret_cast<const char*>(raw), len));
}

}  // namespace

Result<SigningKey> load_or_create_signing_key(const std::filesystem::path& path) {
    SigningKey k;
    if (auto text = util::read_file(path)) {
        k.pem = *text;
    } else {
        std::error_code ec;
        if (std::filesystem::exists(path, ec)) return Error{0, path.string() + ": cannot read the signing key"};
        EVP_PKEY* p = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
        if (!p) return Error{0, "cannot generate an Ed25519 key"};
        Pkey owned(p);
        BIO* bio = BIO_new(BIO_s_mem());
        PEM_write_bio_PrivateKey(bio, p, nullptr, nullptr, 0, nullptr, nullptr);
        char* data = nullptr;
        long len = BIO_get_mem_data(bio, &data);
        k.pem.assign(data, static_cast<std::size_t>(len));
        BIO_free(bio);
        std::filesystem::create_directories(path.parent_path(), ec);
        if (auto r = util::write_file_atomic(path, k.pem, 0600); !r) return r.error();
    }
    Pkey p = read_private(k.pem);
    if (!p || EVP_PKEY_get_id(p.get()) != EVP_PKEY_ED25519) return Error{0, path.string() + ": not an Ed25519 private key (PEM)"};
    k.public_hex = public_hex_of(p.get());
    return k;
}

Result<std::string> sign(const SigningKey& key, std::string_view data) {
    Pkey p = read_private(key.pem);
    if (!p) return Error{0, "the signing key does not load"};
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned char sig[64];
    std::size_t len = sizeof sig;
    bool ok = EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, p.get()) == 1 &&
              EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) return Error{0, "Ed25519 signing failed"};
    return std::string(reinterpret_cast<const char*>(sig), len);
}

bool verify(std::string_view public_hex, std::string_view data, std::string_view signature) {
    std::string raw;
    if (!from_hex(public_hex, raw) || raw.size() != 32 || signature.size() != 64) return false;
    Pkey p(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
    if (!p) return false;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, p.get()) == 1 &&
              EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                               reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

Result<std::string> load_or_create_org_key(const std::filesystem::path& path) {
    std::string raw;
    if (auto text = util::read_file(path)) {
        std::string hex = *text;
        while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
        if (!from_hex(hex, raw) || raw.size() != 32) return Error{0, path.string() + ": expected 64 hex digits (the organisation key)"};
        return raw;
    }
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return Error{0, path.string() + ": cannot read the organisation key"};
    raw.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), 32) != 1) return Error{0, "no random bytes for the organisation key"};
    std::filesystem::create_directories(path.parent_path(), ec);
    if (auto r = util::write_file_atomic(path, to_hex(raw) + "\n", 0600); !r) return r.error();
    return raw;
}

std::string hmac_hex(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    return to_hex(std::string_view(reinterpret_cast<const char*>(out), len));
}

std::string recipient_hash(std::string_view key, std::string_view address) { return hmac_hex(key, directory::address_key(address)); }

std::string safe_sender_hash(std::string_view key, std::string_view entry) {
    if (entry.find('@') == std::string_view::npos) return hmac_hex(key, "@" + directory::fold(entry));
    return recipient_hash(key, entry);
}

std::string sha256_hex(std::string_view data) {
    unsigned char out[32];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
    return to_hex(std::string_view(reinterpret_cast<const char*>(out), len));
}

bool base64url_decode(std::string_view in, std::string& out) {
    out.clear();
    while (!in.empty() && in.back() == '=') in.remove_suffix(1);
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-') v = 62;
        else if (c == '_') v = 63;
        else return false;
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return true;
}

std::string pem_fingerprint(std::string_view pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (!cert) return "";
    std::string fp = net::fingerprint_of(cert);
    X509_free(cert);
    return fp;
}

}  // namespace rampart::replication
