// The judgement of one installed certificate for `pgdr certs status`: the copy a host serves
// from, against the state directory's copy and the cluster CA. Pure; throws nothing.
//
//   state       when
//   missing     the host has no such file (or, for the state: the state directory has none)
//   unreadable  the host's file is no PEM certificate
//   wrong_ca    it does not chain to the cluster CA (another cluster's, or a stale CA)
//   expired     its notAfter has passed (or its notBefore is still ahead)
//   mismatch    it differs from the state directory's copy (a rotation half done, or a file
//               changed by hand): the next bootstrap or rotation replaces it
//   expiring    fewer than warn_days days left (a warning; `pgdr certs rotate`)
//   ok          none of the above
// The first that applies names the state; `problems` lists every one that applies.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "pki/certificate.hpp"

namespace pgdr::pki {

enum class CertState { ok, expiring, expired, mismatch, wrong_ca, unreadable, missing };
std::string to_string(CertState state);
// True for every state but ok and expiring.
bool is_failure(CertState state);

struct CertCheck {
    CertState state = CertState::missing;
    std::optional<CertInfo> info;       // of the host's copy, when it parsed
    std::optional<bool> matches_state;  // empty when either copy is missing
    bool chains_to_ca = false;
    long long days_left = 0;            // whole days until notAfter (negative once expired)
    std::vector<std::string> problems;  // one sentence each
};

// `on_host`: the file as read from the host (empty: absent). `in_state`: the state directory's
// copy (empty: absent; then nothing is compared). `ca_pem`: the state directory's CA.
CertCheck judge_certificate(const std::optional<std::string>& on_host,
                            const std::optional<std::string>& in_state, const std::string& ca_pem,
                            std::chrono::system_clock::time_point now, int warn_days);

}  // namespace pgdr::pki
