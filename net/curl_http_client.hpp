// CurlHttpClient: the real HttpClient (core/http.hpp), on libcurl. The only code that includes
// curl (DESIGN.md §1).
//
// One request in, one response out: any HTTP status is returned as data; redirects are not
// followed (the OVH API does not redirect, and a redirect would change the signed URL). Every
// request is bounded by request.connect_timeout and request.timeout. Failures without an HTTP
// answer throw HttpTransportError classified from the CURLcode:
//   connect  - resolve/connect failed, or the connect timeout expired: nothing was sent
//   timeout  - connected, but no complete answer within request.timeout (may have been applied)
//   tls      - handshake or certificate failure (permanent)
//   protocol - anything else after connecting: reset, truncated or malformed answer
// Response header names are lower-cased; when a header repeats, the last value wins. Thread-safe:
// each send() uses its own curl handle, so one client may be shared by threads.
#pragma once

#include <cstddef>
#include <string>

#include "core/http.hpp"

namespace pgdr::net {

// The cluster's TLS for https:// URLs: servers verified against ca_file (instead of the system's
// store), and this client's certificate presented (etcd and Patroni's unsafe endpoints ask for
// one). Empty fields: curl's defaults.
struct ClientTls {
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
};

class CurlHttpClient final : public HttpClient {
  public:
    // max_response_bytes bounds the body kept in memory; a larger answer is a protocol error.
    explicit CurlHttpClient(std::size_t max_response_bytes = 64u * 1024u * 1024u);
    HttpResponse send(const HttpRequest& request) override;
    // Set before the client is shared with other threads.
    void use_tls(ClientTls tls) { m_tls = std::move(tls); }

  private:
    std::size_t m_max_response_bytes;
    ClientTls m_tls;
};

}  // namespace pgdr::net
