// Shared by the OVH unit tests: credentials and client options for a Client talking to a
// RecordingHttpClient (nothing leaves the process; the values are not secrets).
#pragma once

#include <sstream>

#include "core/log.hpp"
#include "fakes/manual_clock.hpp"
#include "fakes/recording_http_client.hpp"
#include "ovh/client.hpp"
#include "ovh/credentials.hpp"
#include "ovh/resources.hpp"

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

// A project API over a recording HTTP client and a manual clock, project "p1"; the tests add
// their answers (respond, set_handler) and seams.
struct ApiRig {
    fakes::RecordingHttpClient http;
    fakes::ManualClock clock;
    std::ostringstream log_text;
    Logger log{log_text, 0};
    Client client;
    ProjectApi api;

    ApiRig()
        : client(http, clock, log, test_credentials(), test_client_options()),
          api(client, clock, log, "p1", WaitOptions{}) {}
};

}  // namespace pgdr::ovh::testing
