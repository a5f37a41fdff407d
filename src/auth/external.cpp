// auth/external.cpp — organisation servers by certificate fingerprint (see external.hpp).
#include "auth/external.hpp"

#include "directory/directory.hpp"

namespace rampart::auth {

const directory::Server* server_for_certificate(const directory::Directory& dir,
                                                const std::optional<net::PeerCertificate>& cert,
                                                const net::IpAddress& client, std::string* why) {
    std::string ignored;
    std::string& reason = why ? *why : ignored;
    if (!cert) {
        reason = "no client certificate was presented";
        return nullptr;
    }
    const directory::Server* s = dir.server_by_fingerprint(cert->fingerprint);
    if (!s) {
        reason = "certificate " + cert->fingerprint + " (" + cert->subject + ") belongs to no server in the directory";
        return nullptr;
    }
    if (!cert->valid_now) {
        reason = "certificate of server " + s->name + " is expired or not yet valid";
        return nullptr;
    }
    if (!s->addresses.empty()) {
        bool from_known = false;
        for (const std::string& a : s->addresses)
            if (auto c = net::Cidr::parse(a); c && c->contains(client)) from_known = true;
        if (!from_known) {
            reason = "server " + s->name + " may connect only from its addresses, not from " + client.text();
            return nullptr;
        }
    }
    reason = "certificate " + cert->fingerprint + " is server " + s->name;
    return s;
}

ExternalOutcome authenticate_external(const directory::Directory& dir, const std::optional<net::PeerCertificate>& cert,
                                      const net::IpAddress& client, std::string_view authzid) {
    ExternalOutcome out;
    const directory::Server* s = server_for_certificate(dir, cert, client, &out.reason);
    if (!s) return out;
    if (!authzid.empty() && authzid != s->name && authzid != "server:" + s->name) {
        out.reason = "server " + s->name + " asked to act as \"" + std::string(authzid) + "\"";
        return out;
    }
    out.principal = policy::Principal{policy::Principal::Kind::Server, s->name, {}, {}, false};
    return out;
}

}  // namespace rampart::auth
