// The OVH API request signature (ovh-api.md §1.3):
//   "$1$" + lowercase hex SHA-1 of AS+"+"+CK+"+"+METHOD+"+"+URL+"+"+BODY+"+"+TIMESTAMP
// where URL is the absolute URL sent (query string included) and BODY the exact body bytes
// ("" without a body). Callers must sign the very strings they send.
#pragma once

#include <string>

namespace pgdr::ovh {

// The pre-image, exposed for tests and for debugging "Invalid signature" answers.
std::string signature_preimage(const std::string& application_secret,
                               const std::string& consumer_key, const std::string& method,
                               const std::string& url, const std::string& body,
                               long long timestamp);

// The X-Ovh-Signature header value.
std::string sign_request(const std::string& application_secret, const std::string& consumer_key,
                         const std::string& method, const std::string& url, const std::string& body,
                         long long timestamp);

// Lowercase hex SHA-1 of data (OpenSSL).
std::string sha1_hex(const std::string& data);

}  // namespace pgdr::ovh
