// net/tls.cpp — OpenSSL 3 setup. Server contexts refuse anything older than
// tls.min_version and compression; session tickets stay on for resumption.
#include "net/tls.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>

#include <asio/ssl/context.hpp>

namespace rampart::net {
namespace {

struct FileCloser {
    void operator()(FILE* f) const { if (f) std::fclose(f); }
};

}  // namespace

Result<Ok> write_self_signed(const std::filesystem::path& cert_path, const std::filesystem::path& key_path,
                             const std::string& hostname) {
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    if (!pkey) return Error{0, "EC key generation failed"};
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), static_cast<long>(std::time(nullptr)));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
    std::string san = "DNS:" + hostname;
    if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str())) {
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    bool ok = X509_sign(x, pkey, EVP_sha256()) > 0;
    std::error_code ec;
    std::filesystem::create_directories(cert_path.parent_path(), ec);
    mode_t old = ::umask(077);
    std::unique_ptr<FILE, FileCloser> kf(std::fopen(key_path.c_str(), "w"));
    std::unique_ptr<FILE, FileCloser> cf(std::fopen(cert_path.c_str(), "w"));
    ::umask(old);
    ok = ok && kf && cf && PEM_write_PrivateKey(kf.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) &&
         PEM_write_X509(cf.get(), x);
    X509_free(x);
    EVP_PKEY_free(pkey);
    if (!ok) return Error{0, "cannot write self-signed certificate to " + cert_path.string()};
    return Ok{};
}

Result<std::shared_ptr<asio::ssl::context>> make_server_context(const ServerTlsSettings& settings, bool request_client_certificate) {
    std::filesystem::path cert = settings.certificate, key = settings.key;
    if (cert.empty()) {
        cert = settings.self_signed_dir / "cert.pem";
        key = settings.self_signed_dir / "key.pem";
        if (!std::filesystem::exists(cert) || !std::filesystem::exists(key)) {
            auto r = write_self_signed(cert, key, settings.hostname);
            if (!r) return r.error();
        }
    }
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_compression |
                     asio::ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), settings.tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION);
    std::error_code ec;
    ctx->use_certificate_chain_file(cert.string(), ec);
    if (ec) return Error{ec.value(), "tls.certificate: cannot load " + cert.string() + ": " + ec.message()};
    ctx->use_private_key_file(key.string(), asio::ssl::context::pem, ec);
    if (ec) return Error{ec.value(), "tls.key: cannot load " + key.string() + ": " + ec.message()};
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
        return Error{0, "tls.key does not match tls.certificate"};
    if (request_client_certificate) {
        // Any chain passes the handshake: trust comes from the directory's fingerprints,
        // not from a CA (auth/external.cpp). Resumed sessions keep the peer certificate;
        // they need a session id context.
        SSL_CTX_set_verify(ctx->native_handle(), SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
        static const unsigned char kSidCtx[] = "rampart-server-auth";
        SSL_CTX_set_session_id_context(ctx->native_handle(), kSidCtx, sizeof kSidCtx - 1);
    }
    return ctx;
}

Result<std::shared_ptr<asio::ssl::context>> make_client_context(const ClientTlsSettings& settings) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    std::error_code ec;
    if (settings.verify) {
        if (settings.ca_file.empty()) ctx->set_default_verify_paths(ec);
        else ctx->load_verify_file(settings.ca_file.string(), ec);
        if (ec) return Error{ec.value(), "tls_ca_file: cannot load " + settings.ca_file.string() + ": " + ec.message()};
        ctx->set_verify_mode(asio::ssl::verify_peer);
    } else {
        ctx->set_verify_mode(asio::ssl::verify_none);
    }
    if (!settings.certificate.empty()) {
        ctx->use_certificate_chain_file(settings.certificate.string(), ec);
        if (ec) return Error{ec.value(), "certificate: cannot load " + settings.certificate.string() + ": " + ec.message()};
        ctx->use_private_key_file((settings.key.empty() ? settings.certificate : settings.key).string(), asio::ssl::context::pem, ec);
        if (ec) return Error{ec.value(), "key: cannot load " + settings.key.string() + ": " + ec.message()};
        if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) return Error{0, "key does not match certificate " + settings.certificate.string()};
    }
    return ctx;
}

std::shared_ptr<asio::ssl::context> make_client_context(bool verify) {
    auto ctx = make_client_context(ClientTlsSettings{verify, {}, {}, {}});
    if (ctx) return *ctx;
    // The system store could not be read: verification then fails closed on every peer.
    auto fallback = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    fallback->set_verify_mode(verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
    return fallback;
}

}  // namespace rampart::net
