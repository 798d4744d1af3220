// Plain TCP probes from this machine (lab readiness, HAProxy and port checks).
#pragma once

#include <chrono>
#include <string>

namespace pgdr {

// Connects to address:port within timeout and reads up to `max` bytes of what the server says
// first (e.g. the SSH banner) within the same timeout. Returns false when the connection fails.
bool tcp_probe(const std::string& address, int port, std::chrono::milliseconds timeout,
               std::string* greeting = nullptr, std::size_t max = 64);

}  // namespace pgdr
