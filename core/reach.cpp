#include "core/reach.hpp"

namespace pgdr {

std::string Endpoint::authority() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Endpoint::url(const std::string& scheme) const {
    return scheme + "://" + authority();
}

}  // namespace pgdr
