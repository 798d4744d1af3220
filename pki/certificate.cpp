#include "pki/certificate.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

#include "core/error.hpp"

namespace pgdr::pki {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using KeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using Names = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

[[noreturn]] void fail(const std::string& what) {
    std::string detail;
    if (unsigned long code = ERR_get_error(); code != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        detail = std::string(": ") + buf;
    }
    ERR_clear_error();
    throw Error(ExitCode::internal, "certificate: " + what + detail);
}

template <typename T>
T* check(T* p, const std::string& what) {
    if (p == nullptr) {
        fail(what);
    }
    return p;
}
void check(int rc, const std::string& what) {
    if (rc <= 0) {
        fail(what);
    }
}

Key new_ec_key() {
    KeyCtx ctx(check(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), "EC key context"));
    check(EVP_PKEY_keygen_init(ctx.get()), "EC keygen init");
    check(EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256"), "EC curve P-256");
    EVP_PKEY* raw = nullptr;
    check(EVP_PKEY_generate(ctx.get(), &raw), "EC key generation");
    return Key(raw);
}

Bio read_bio(const std::string& pem) {
    return Bio(check(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), "memory BIO"));
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string key_pem(EVP_PKEY* key) {
    Bio bio(check(BIO_new(BIO_s_mem()), "memory BIO"));
    // OpenSSL 3 writes PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: the file's mode protects it.
    check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
          "writing the key");
    return bio_text(bio.get());
}

std::string cert_pem(X509* cert) {
    Bio bio(check(BIO_new(BIO_s_mem()), "memory BIO"));
    check(PEM_write_bio_X509(bio.get(), cert), "writing the certificate");
    return bio_text(bio.get());
}

Cert parse_cert(const std::string& pem) {
    Bio bio = read_bio(pem);
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) {
        ERR_clear_error();
        throw config_error("certificate: not a PEM certificate");
    }
    return Cert(cert);
}

Key parse_key(const std::string& pem) {
    Bio bio = read_bio(pem);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (key == nullptr) {
        ERR_clear_error();
        throw config_error("certificate: not a PEM private key");
    }
    return Key(key);
}

void set_common_name(X509_NAME* name, const std::string& cn) {
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0),
          "subject name");
}

// A random positive 127-bit serial: unique without a serial file.
void set_random_serial(X509* cert) {
    Bignum bn(check(BN_new(), "serial"));
    check(BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "random serial");
    check(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr ? 1 : 0, "serial");
}

// Valid from an hour ago (hosts' clocks differ a little) for `validity`.
void set_validity(X509* cert, std::chrono::hours validity) {
    check(X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != nullptr ? 1 : 0, "notBefore");
    const long hours = static_cast<long>(validity.count());
    check(X509_time_adj_ex(X509_getm_notAfter(cert), static_cast<int>(hours / 24),
                           (hours % 24) * 3600, nullptr) != nullptr
              ? 1
              : 0,
          "notAfter");
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    Ext ext(check(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()),
                  std::string("extension ") + OBJ_nid2sn(nid)));
    check(X509_add_ext(cert, ext.get(), -1), "adding an extension");
}

// A new certificate for `key`'s public half, named `cn`, not yet signed.
Cert new_cert(EVP_PKEY* key, const std::string& cn, std::chrono::hours validity) {
    Cert cert(check(X509_new(), "new certificate"));
    check(X509_set_version(cert.get(), 2), "X.509 v3");
    set_random_serial(cert.get());
    set_validity(cert.get(), validity);
    set_common_name(X509_get_subject_name(cert.get()), cn);
    check(X509_set_pubkey(cert.get(), key), "public key");
    return cert;
}

bool dns_name_ok(const std::string& name) {
    if (name.empty() || name.size() > 253) {
        return false;
    }
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '*';
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool ip_ok(const std::string& ip) {
    unsigned char buf[16];
    return inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

std::string subject_alt_names(const CertRequest& request) {
    std::string out;
    auto add = [&out](const std::string& entry) { out += (out.empty() ? "" : ",") + entry; };
    for (const auto& name : request.dns_names) {
        if (!dns_name_ok(name)) {
            throw config_error("certificate for " + request.common_name + ": '" + name +
                               "' is not a DNS name");
        }
        add("DNS:" + name);
    }
    for (const auto& ip : request.ip_addresses) {
        if (!ip_ok(ip)) {
            throw config_error("certificate for " + request.common_name + ": '" + ip +
                               "' is not an IP address");
        }
        add("IP:" + ip);
    }
    return out;
}

std::string extended_key_usage(Usage usage) {
    switch (usage) {
        case Usage::server:
            return "serverAuth";
        case Usage::client:
            return "clientAuth";
        case Usage::server_and_client:
            return "serverAuth,clientAuth";
    }
    return "serverAuth,clientAuth";
}

std::string common_name(X509_NAME* name) {
    const int len = X509_NAME_get_text_by_NID(name, NID_commonName, nullptr, 0);
    if (len < 0) {
        return {};
    }
    std::string out(static_cast<std::size_t>(len) + 1, '\0');
    X509_NAME_get_text_by_NID(name, NID_commonName, out.data(), len + 1);
    out.resize(static_cast<std::size_t>(len));
    return out;
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t) {
    std::tm tm{};
    check(ASN1_TIME_to_tm(t, &tm), "certificate time");
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
    char buf[INET6_ADDRSTRLEN] = {0};
    const int len = ASN1_STRING_length(ip);
    const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : -1;
    if (family < 0 || inet_ntop(family, ASN1_STRING_get0_data(ip), buf, sizeof buf) == nullptr) {
        return "?";
    }
    return buf;
}

void read_alt_names(X509* cert, CertInfo& info) {
    Names names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) {
        return;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (gn->type == GEN_DNS) {
            const auto* s = gn->d.dNSName;
            info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                        static_cast<std::size_t>(ASN1_STRING_length(s)));
        } else if (gn->type == GEN_IPADD) {
            info.ip_addresses.push_back(ip_text(gn->d.iPAddress));
        }
    }
}

std::string serial_hex(X509* cert) {
    Bignum bn(check(ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr), "serial"));
    char* hex = check(BN_bn2hex(bn.get()), "serial");
    std::string out(hex);
    OPENSSL_free(hex);
    return out;
}

}  // namespace

KeyPair make_ca(const std::string& common_name_text, std::chrono::hours validity) {
    Key key = new_ec_key();
    Cert cert = new_cert(key.get(), common_name_text, validity);
    check(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())), "issuer");
    add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
    check(X509_sign(cert.get(), key.get(), EVP_sha256()), "signing the CA");
    return {cert_pem(cert.get()), key_pem(key.get())};
}

KeyPair issue(const KeyPair& ca, const CertRequest& request) {
    if (request.common_name.empty() ||
        (request.dns_names.empty() && request.ip_addresses.empty())) {
        throw config_error("certificate: a name and at least one subjectAltName are needed");
    }
    const std::string sans = subject_alt_names(request);
    Cert ca_cert = parse_cert(ca.cert_pem);
    Key ca_key = parse_key(ca.key_pem);
    Key key = new_ec_key();
    Cert cert = new_cert(key.get(), request.common_name, request.validity);
    check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())), "issuer");
    add_extension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), ca_cert.get(), NID_key_usage,
                  "critical,digitalSignature,keyEncipherment");
    add_extension(cert.get(), ca_cert.get(), NID_ext_key_usage, extended_key_usage(request.usage));
    add_extension(cert.get(), ca_cert.get(), NID_subject_key_identifier, "hash");
    add_extension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
    add_extension(cert.get(), ca_cert.get(), NID_subject_alt_name, sans);
    check(X509_sign(cert.get(), ca_key.get(), EVP_sha256()), "signing the certificate");
    return {cert_pem(cert.get()), key_pem(key.get())};
}

CertInfo inspect(const std::string& pem) {
    Cert cert = parse_cert(pem);
    CertInfo info;
    info.subject_cn = common_name(X509_get_subject_name(cert.get()));
    info.issuer_cn = common_name(X509_get_issuer_name(cert.get()));
    info.serial_hex = serial_hex(cert.get());
    read_alt_names(cert.get(), info);
    info.not_before = to_time_point(X509_get0_notBefore(cert.get()));
    info.not_after = to_time_point(X509_get0_notAfter(cert.get()));
    info.is_ca = X509_check_ca(cert.get()) > 0;
    const uint32_t xku = X509_get_extended_key_usage(cert.get());
    info.server_auth = (xku & XKU_SSL_SERVER) != 0;
    info.client_auth = (xku & XKU_SSL_CLIENT) != 0;
    const uint32_t ku = X509_get_key_usage(cert.get());
    info.digital_signature = (ku & KU_DIGITAL_SIGNATURE) != 0;
    info.key_cert_sign = (ku & KU_KEY_CERT_SIGN) != 0;
    return info;
}

std::string fingerprint(const std::string& pem) {
    Cert cert = parse_cert(pem);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    check(X509_digest(cert.get(), EVP_sha256(), md, &n), "certificate digest");
    static const char* const k_hex = "0123456789abcdef";
    std::string out;
    for (unsigned int k = 0; k < n; ++k) {
        out += k_hex[md[k] >> 4];
        out += k_hex[md[k] & 0x0f];
    }
    return out;
}

namespace {
bool verify_chain(const std::string& ca_pem, const std::string& pem, std::string* reason,
                  bool check_time) {
    Cert ca = parse_cert(ca_pem);
    Cert cert = parse_cert(pem);
    Store store(check(X509_STORE_new(), "certificate store"));
    check(X509_STORE_add_cert(store.get(), ca.get()), "adding the CA");
    StoreCtx ctx(check(X509_STORE_CTX_new(), "verification context"));
    check(X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr), "verification");
    if (!check_time) {
        X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
    }
    const bool ok = X509_verify_cert(ctx.get()) == 1;
    if (!ok && reason != nullptr) {
        *reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    }
    ERR_clear_error();
    return ok;
}
}  // namespace

bool verify(const std::string& ca_pem, const std::string& pem, std::string* reason) {
    return verify_chain(ca_pem, pem, reason, true);
}

bool chains_to(const std::string& ca_pem, const std::string& pem, std::string* reason) {
    return verify_chain(ca_pem, pem, reason, false);
}

bool key_matches(const std::string& pem, const std::string& key_pem_text) {
    Cert cert = parse_cert(pem);
    Key key = parse_key(key_pem_text);
    const bool ok = X509_check_private_key(cert.get(), key.get()) == 1;
    ERR_clear_error();
    return ok;
}

}  // namespace pgdr::pki
