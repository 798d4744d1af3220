// Fixed stand-ins for the cluster's certificates (pki/cluster_certs.hpp) in renderer and
// planner tests: the files' content is irrelevant there, and goldens must not change per run.
#pragma once

#include "core/inventory.hpp"
#include "pg/secrets.hpp"
#include "pki/cluster_certs.hpp"

namespace pgdr::testing {

inline pg::Secrets with_test_tls(pg::Secrets s, const Inventory& inv) {
    if (s.haproxy_stats_password.empty()) {
        s.haproxy_stats_password = "test-stats-pw";
    }
    s.tls.ca = {"TEST CA CERTIFICATE\n", "TEST CA KEY\n"};
    for (const auto& spec : pki::cluster_cert_specs(inv)) {
        s.tls.certs[spec.stem] = {"TEST CERTIFICATE " + spec.stem + "\n",
                                  "TEST KEY " + spec.stem + "\n"};
    }
    return s;
}

}  // namespace pgdr::testing
