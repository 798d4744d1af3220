// The OVH twin's HTTP endpoint: cpp-httplib (Debian's libcpp-httplib) in front of a TwinApi.
// Plain HTTP on a loopback address, as go-ovh and pgdr accept for http://127.0.0.1:PORT/1.0.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "twin/api.hpp"
#include "twin/s3.hpp"

namespace pgdr::twin {

// Binds host:port (port 0: any free port), calls on_bound(port) once listening, then serves
// until the process ends. One line per request (method, path, status, milliseconds) goes to
// `log`; never a header or a body. Throws std::runtime_error when the address cannot be bound.
void serve(TwinApi& api, const std::string& host, int port,
           const std::function<void(int)>& on_bound, std::ostream& log);

// The same API over HTTPS, for the twin's hosts (pgdr-guard fences through it from a lab host:
// https://198.19.0.1:8443/1.0 on the Ext-Net gateway, with the twin CA's certificate), as
// instances reach OVH's API over the Internet. Signatures are checked against https:// URLs.
inline constexpr int k_api_tls_port = 8443;
void serve_tls(TwinApi& api, const std::string& host, int port, const std::string& cert_file,
               const std::string& key_file, const std::function<void(int)>& on_bound,
               std::ostream& log);

// The Object Storage endpoints over HTTPS (pgBackRest speaks S3 over TLS only): one server for
// every region, which the Host header chooses (s3.<region>.io.cloud.ovh.net[:port]). Objects
// are streamed from their files. Same binding and logging as serve().
void serve_s3(S3Regions& regions, const std::string& host, int port, const std::string& cert_file,
              const std::string& key_file, const std::function<void(int)>& on_bound,
              std::ostream& log);
// One store whatever the Host header (the lab's endpoint at an IP address: path-style only).
void serve_s3(S3Api& api, const std::string& host, int port, const std::string& cert_file,
              const std::string& key_file, const std::function<void(int)>& on_bound,
              std::ostream& log);
// The store a request's Host header names (nullptr: 404 NoSuchEndpoint).
void serve_s3_by_host(const std::function<S3Api*(const std::string&)>& store_of,
                      const std::string& host, int port, const std::string& cert_file,
                      const std::string& key_file, const std::function<void(int)>& on_bound,
                      std::ostream& log);

}  // namespace pgdr::twin
