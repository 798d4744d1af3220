// ReachingHttpClient: an HttpClient that sends every request to a cluster port through a
// ClusterReach (directly, or a port forwarded over SSH), leaving the URL as it is.
#pragma once

#include "core/http.hpp"
#include "core/reach.hpp"

namespace pgdr {

class ReachingHttpClient final : public HttpClient {
  public:
    ReachingHttpClient(HttpClient& inner, ClusterReach& reach) : m_inner(inner), m_reach(reach) {}

    // Throws HttpTransportError (connect) when the reach cannot provide a path to the port.
    HttpResponse send(const HttpRequest& request) override;

  private:
    HttpClient& m_inner;
    ClusterReach& m_reach;
};

}  // namespace pgdr
