// auth/gssapi.cpp — SASL GSSAPI acceptor over MIT Kerberos GSS-API.
// XXX(gssapi): gss_acquire_cred_from (MIT extension) names the keytab per credential,
// so no process-wide KRB5_KTNAME is needed; other GSS-API implementations lack it.
#include "auth/gssapi.hpp"

#include <unistd.h>

#include <chrono>
#include <mutex>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

namespace rampart::auth {
namespace {

std::string status_text(OM_uint32 code, int type, gss_OID mech) {
    std::string out;
    OM_uint32 ctx = 0, min = 0;
    for (int i = 0; i < 8; ++i) {   // bounded: a status chain is short
        gss_buffer_desc msg = GSS_C_EMPTY_BUFFER;
        if (GSS_ERROR(gss_display_status(&min, code, type, mech, &ctx, &msg))) break;
        if (!out.empty()) out += "; ";
        out.append(static_cast<const char*>(msg.value), msg.length);
        gss_release_buffer(&min, &msg);
        if (ctx == 0) break;
    }
    return out;
}

std::string gss_error(OM_uint32 maj, OM_uint32 min) {
    std::string out = status_text(maj, GSS_C_GSS_CODE, GSS_C_NO_OID);
    if (min != 0) out += ": " + status_text(min, GSS_C_MECH_CODE, const_cast<gss_OID>(gss_mech_krb5));
    return out;
}

std::string take(gss_buffer_desc& b) {
    OM_uint32 min = 0;
    std::string out(static_cast<const char*>(b.value), b.length);
    gss_release_buffer(&min, &b);
    return out;
}

// Acceptor credentials for SERVICE@HOSTNAME from the keytab, Kerberos 5 only.
gss_cred_id_t acquire(const GssapiSettings& s, std::string& error) {
    OM_uint32 maj = 0, min = 0;
    std::string service = s.service + "@" + s.hostname;
    gss_buffer_desc nb{service.size(), service.data()};
    gss_name_t name = GSS_C_NO_NAME;
    maj = gss_import_name(&min, &nb, GSS_C_NT_HOSTBASED_SERVICE, &name);
    if (GSS_ERROR(maj)) {
        error = "import name " + service + ": " + gss_error(maj, min);
        return GSS_C_NO_CREDENTIAL;
    }
    std::string keytab = "FILE:" + s.keytab.string();
    gss_key_value_element_desc element{"keytab", keytab.c_str()};
    gss_key_value_set_desc store{1, &element};
    gss_OID_desc krb5 = *gss_mech_krb5;
    gss_OID_set_desc mechs{1, &krb5};
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    maj = gss_acquire_cred_from(&min, name, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT, &store, &cred, nullptr, nullptr);
    gss_release_name(&min, &name);
    if (GSS_ERROR(maj)) {
        error = "keytab " + s.keytab.string() + ", principal " + s.service + "/" + s.hostname + ": " + gss_error(maj, min);
        return GSS_C_NO_CREDENTIAL;
    }
    return cred;
}

// XXX(gssapi): MIT krb5 1.20 leaks about 100 bytes each time gss_acquire_cred_from fails
// (a keytab without the acceptor's key). A failure is remembered for kRetryAfterFailure, so
// a client repeating AUTH against a broken keytab cannot grow the process; a repaired
// keytab is picked up within that time. An unreadable keytab never reaches the library.
constexpr std::chrono::seconds kRetryAfterFailure{10};

gss_cred_id_t acquire_remembering_failure(const GssapiSettings& s, std::string& error) {
    static std::mutex mutex;
    static std::string failed_for;   // keytab and principal of the last failure
    static std::string failed_error;
    static std::chrono::steady_clock::time_point failed_until;
    std::string key = s.keytab.string() + "\n" + s.service + "/" + s.hostname;
    auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex);
        if (failed_for == key && now < failed_until) {
            error = failed_error;
            return GSS_C_NO_CREDENTIAL;
        }
    }
    if (::access(s.keytab.c_str(), R_OK) != 0) {
        error = "cannot read keytab " + s.keytab.string();
        return GSS_C_NO_CREDENTIAL;
    }
    gss_cred_id_t cred = acquire(s, error);
    if (cred == GSS_C_NO_CREDENTIAL) {
        std::lock_guard lock(mutex);
        failed_for = key;
        failed_error = error;
        failed_until = now + kRetryAfterFailure;
    }
    return cred;
}

asio::thread_pool& pool() {
    static asio::thread_pool p(2);
    return p;
}

}  // namespace

struct GssapiAcceptor::Impl {
    GssapiSettings settings;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
    std::string client;
    bool complete = false;

    ~Impl() {
        OM_uint32 min = 0;
        if (ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
        if (cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&min, &cred);
    }

    GssapiStep accept(std::string_view token) {
        GssapiStep step;
        if (complete || token.empty()) {
            step.error = complete ? "token after the context was complete" : "empty token";
            return step;
        }
        if (cred == GSS_C_NO_CREDENTIAL) {
            cred = acquire_remembering_failure(settings, step.error);
            if (cred == GSS_C_NO_CREDENTIAL) {
                step.kind = GssapiStep::Kind::Unavailable;
                return step;
            }
        }
        OM_uint32 maj = 0, min = 0, flags = 0;
        gss_buffer_desc in{token.size(), const_cast<char*>(token.data())};
        gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
        gss_name_t src = GSS_C_NO_NAME;
        gss_OID mech = GSS_C_NO_OID;
        maj = gss_accept_sec_context(&min, &ctx, cred, &in, GSS_C_NO_CHANNEL_BINDINGS, &src, &mech, &out, &flags,
                                     nullptr, nullptr);
        step.token = take(out);
        if (GSS_ERROR(maj)) {
            if (src != GSS_C_NO_NAME) gss_release_name(&min, &src);
            step.kind = GssapiStep::Kind::Failed;
            step.error = gss_error(maj, min);
            return step;
        }
        if (maj & GSS_S_CONTINUE_NEEDED) {
            if (src != GSS_C_NO_NAME) gss_release_name(&min, &src);
            step.kind = GssapiStep::Kind::Continue;
            return step;
        }
        gss_buffer_desc name = GSS_C_EMPTY_BUFFER;
        OM_uint32 nmaj = gss_display_name(&min, src, &name, nullptr);
        gss_release_name(&min, &src);
        if (GSS_ERROR(nmaj)) {
            step.kind = GssapiStep::Kind::Failed;
            step.error = "display name: " + gss_error(nmaj, min);
            return step;
        }
        client = take(name);
        complete = true;
        step.kind = GssapiStep::Kind::Complete;
        return step;
    }
};

std::optional<GssapiSettings> gssapi_settings(const config::Config& cfg) {
    if (cfg.kerberos.keytab.empty()) return std::nullopt;
    return GssapiSettings{std::filesystem::absolute(cfg.resolve(cfg.kerberos.keytab)), cfg.kerberos.service,
                          cfg.server.hostname};
}

GssapiAcceptor::GssapiAcceptor(GssapiSettings settings) : impl_(std::make_shared<Impl>()) {
    impl_->settings = std::move(settings);
}

GssapiAcceptor::~GssapiAcceptor() = default;

GssapiStep GssapiAcceptor::accept(std::string_view token) { return impl_->accept(token); }

asio::awaitable<GssapiStep> GssapiAcceptor::accept_async(std::string token) {
    // XXX(gssapi): the background job copies impl_ itself. A shared_ptr local of this
    // coroutine copied into the initiation lambda lost one reference too many under GCC 12
    // (the GSS context was freed while the session still used it).
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(GssapiStep)>(
        [this, &token](auto handler) {
            auto ex = asio::get_associated_executor(handler);
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            asio::post(pool(), [h, ex, impl = impl_, token = std::move(token)]() mutable {
                GssapiStep result = impl->accept(token);
                asio::post(ex, [h, result = std::move(result)]() mutable { (*h)(std::move(result)); });
            });
        },
        asio::use_awaitable);
}

const std::string& GssapiAcceptor::client_name() const { return impl_->client; }

std::optional<std::string> GssapiAcceptor::wrap_offer(std::string& error) {
    if (!impl_->complete) {
        error = "context not established";
        return std::nullopt;
    }
    std::string plain = encode_layer_offer(kLayerNone, 0);
    OM_uint32 min = 0;
    gss_buffer_desc in{plain.size(), plain.data()};
    gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
    OM_uint32 maj = gss_wrap(&min, impl_->ctx, 0, GSS_C_QOP_DEFAULT, &in, nullptr, &out);
    if (GSS_ERROR(maj)) {
        error = "wrap: " + gss_error(maj, min);
        return std::nullopt;
    }
    return take(out);
}

std::optional<LayerChoice> GssapiAcceptor::unwrap_choice(std::string_view wrapped, std::string& error) {
    if (!impl_->complete) {
        error = "context not established";
        return std::nullopt;
    }
    OM_uint32 min = 0;
    gss_buffer_desc in{wrapped.size(), const_cast<char*>(wrapped.data())};
    gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
    OM_uint32 maj = gss_unwrap(&min, impl_->ctx, &in, &out, nullptr, nullptr);
    if (GSS_ERROR(maj)) {
        error = "unwrap: " + gss_error(maj, min);
        return std::nullopt;
    }
    std::optional<LayerChoice> c = decode_layer_choice(take(out));
    if (!c) error = "malformed security-layer answer (RFC 4752 §3.1)";
    return c;
}

std::vector<std::string> integrated_warnings(const config::Config& cfg) {
    std::vector<std::string> out;
    std::optional<GssapiSettings> s = gssapi_settings(cfg);
    bool wanted = false;
    for (std::size_t i = 0; i < cfg.listeners.size(); ++i) {
        const config::Listener& l = cfg.listeners[i];
        if (!l.auth.integrated) continue;
        wanted = true;
        if (!s)
            out.push_back("listeners[" + std::to_string(i) + "] (" + l.name +
                          "): auth.integrated is on but kerberos.keytab is not set, so GSSAPI is not offered "
                          "(set [kerberos] keytab = \"smtp.keytab\", or auth.integrated = false)");
    }
    if (!s || !wanted) return out;
    if (::access(s->keytab.c_str(), R_OK) != 0) {
        out.push_back("kerberos.keytab: cannot read " + s->keytab.string() + ": every GSSAPI login will fail with 454 4.7.0");
        return out;
    }
    std::string error;
    gss_cred_id_t cred = acquire(*s, error);
    if (cred == GSS_C_NO_CREDENTIAL) {
        out.push_back("kerberos.keytab: no usable key: " + error + " (add the key with kadmin: ktadd -k KEYTAB " +
                      s->service + "/" + s->hostname + ")");
    } else {
        OM_uint32 min = 0;
        gss_release_cred(&min, &cred);
    }
    return out;
}

}  // namespace rampart::auth
