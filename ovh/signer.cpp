#include "ovh/signer.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace pgdr::ovh {

std::string signature_preimage(const std::string& application_secret,
                               const std::string& consumer_key, const std::string& method,
                               const std::string& url, const std::string& body,
                               long long timestamp) {
    return application_secret + "+" + consumer_key + "+" + method + "+" + url + "+" + body + "+" +
           std::to_string(timestamp);
}

std::string sign_request(const std::string& application_secret, const std::string& consumer_key,
                         const std::string& method, const std::string& url, const std::string& body,
                         long long timestamp) {
    return "$1$" + sha1_hex(signature_preimage(application_secret, consumer_key, method, url, body,
                                               timestamp));
}

std::string sha1_hex(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL SHA-1 failed");
    }
    static const char k_hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        out.push_back(k_hex[digest[i] >> 4]);
        out.push_back(k_hex[digest[i] & 0x0f]);
    }
    return out;
}

}  // namespace pgdr::ovh
