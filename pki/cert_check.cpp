#include "pki/cert_check.hpp"

#include "core/error.hpp"

namespace pgdr::pki {

std::string to_string(CertState state) {
    switch (state) {
        case CertState::ok:
            return "ok";
        case CertState::expiring:
            return "expiring";
        case CertState::expired:
            return "expired";
        case CertState::mismatch:
            return "mismatch";
        case CertState::wrong_ca:
            return "wrong_ca";
        case CertState::unreadable:
            return "unreadable";
        case CertState::missing:
            return "missing";
    }
    return "unknown";
}

bool is_failure(CertState state) {
    return state != CertState::ok && state != CertState::expiring;
}

namespace {

// PEM files are compared by their certificate, not their bytes (a trailing newline, CRLF).
bool same_certificate(const std::string& a, const std::string& b) {
    try {
        return fingerprint(a) == fingerprint(b);
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

CertCheck judge_certificate(const std::optional<std::string>& on_host,
                            const std::optional<std::string>& in_state, const std::string& ca_pem,
                            std::chrono::system_clock::time_point now, int warn_days) {
    CertCheck c;
    if (!on_host) {
        c.state = CertState::missing;
        c.problems.push_back("the certificate file is missing");
        return c;
    }
    try {
        c.info = inspect(*on_host);
    } catch (const Error&) {
        c.state = CertState::unreadable;
        c.problems.push_back("the file holds no PEM certificate");
        return c;
    }
    using std::chrono::duration_cast;
    using std::chrono::hours;
    c.days_left = duration_cast<hours>(c.info->not_after - now).count() / 24;
    if (c.info->not_after <= now && c.days_left == 0) {
        c.days_left = -1;  // expired within the last day: not "0 days left"
    }
    std::string reason;
    c.chains_to_ca = chains_to(ca_pem, *on_host, &reason);
    if (in_state) {
        c.matches_state = same_certificate(*on_host, *in_state);
    }
    std::vector<CertState> found;
    if (!c.chains_to_ca) {
        found.push_back(CertState::wrong_ca);
        c.problems.push_back("it does not chain to the cluster CA (" + reason + ")");
    }
    if (c.info->not_after <= now) {
        found.push_back(CertState::expired);
        c.problems.push_back("it expired " + std::to_string(-c.days_left) + " day(s) ago");
    } else if (c.info->not_before > now) {
        found.push_back(CertState::expired);
        c.problems.push_back("it is not valid yet (notBefore is ahead: check the clocks)");
    }
    if (c.matches_state == false) {
        found.push_back(CertState::mismatch);
        c.problems.push_back("it differs from the state directory's copy");
    }
    if (c.info->not_after > now && c.days_left < warn_days) {
        found.push_back(CertState::expiring);
        c.problems.push_back("only " + std::to_string(c.days_left) + " day(s) left (under " +
                             std::to_string(warn_days) + ")");
    }
    c.state = found.empty() ? CertState::ok : found.front();
    return c;
}

}  // namespace pgdr::pki
