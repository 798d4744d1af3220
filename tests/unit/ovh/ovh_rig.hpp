// Shared by the OVH unit tests: credentials and client options for a Client talking to a
// RecordingHttpClient (nothing leaves the process; the values are not secrets).
#pragma once

#include "ovh/client.hpp"
#include "ovh/credentials.hpp"

namespace pgdr::ovh::testing {

inline Credentials test_credentials() {
    Credentials c;
    c.base_url = "https://eu.api.ovh.com/1.0";
    c.application_key = "ak";
    c.application_secret = "as";
    c.consumer_key = "ck";
    return c;
}

// A fixed jitter seed: retry delays are the same on every run.
inline ClientOptions test_client_options() {
    ClientOptions o;
    o.jitter_seed = 1;
    return o;
}

}  // namespace pgdr::ovh::testing
