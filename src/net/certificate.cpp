// net/certificate.cpp — SHA-256 fingerprints and validity of X.509 certificates (OpenSSL 3).
#include "net/certificate.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <cstdio>
#include <memory>

namespace rampart::net {

std::string fingerprint_of(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

PeerCertificate describe(X509* cert) {
    PeerCertificate pc;
    if (!cert) return pc;
    pc.fingerprint = fingerprint_of(cert);
    if (char* s = X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0)) {
        pc.subject = s;
        OPENSSL_free(s);
    }
    pc.valid_now = X509_cmp_current_time(X509_get0_notBefore(cert)) < 0 && X509_cmp_current_time(X509_get0_notAfter(cert)) > 0;
    return pc;
}

Result<PeerCertificate> read_certificate(const std::filesystem::path& pem) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(pem.c_str(), "r"), &std::fclose);
    if (!f) return errno_error(errno, "open " + pem.string());
    X509* cert = PEM_read_X509(f.get(), nullptr, nullptr, nullptr);
    if (!cert) return Error{0, pem.string() + ": no PEM certificate found"};
    PeerCertificate pc = describe(cert);
    X509_free(cert);
    return pc;
}

Result<PeerCertificate> parse_certificate_pem(std::string_view pem) {
    if (pem.find("PRIVATE KEY") != std::string_view::npos) return Error{0, "holds a private key; give the certificate only"};
    std::unique_ptr<BIO, int (*)(BIO*)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    if (!bio) return Error{0, "out of memory"};
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!cert) return Error{0, "not a PEM certificate (-----BEGIN CERTIFICATE----- ...)"};
    PeerCertificate pc = describe(cert);
    X509_free(cert);
    return pc;
}

std::string normalise_fingerprint(std::string_view text) {
    if (text.size() > 7 && (text.substr(0, 7) == "sha256:" || text.substr(0, 7) == "SHA256:")) text.remove_prefix(7);
    std::string out;
    for (char c : text) {
        if (c == ':') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out.size() == 64 ? out : std::string();
}

}  // namespace rampart::net
