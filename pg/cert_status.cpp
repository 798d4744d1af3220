#include "pg/cert_status.hpp"

#include <ctime>
#include <sstream>

#include "core/error.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

std::string CertEntry::state_name() const {
    return reachable ? pki::to_string(check.state) : "unreachable";
}

int CertsReport::exit_code() const {
    bool unreachable = false;
    for (const auto& e : entries) {
        if (e.reachable && pki::is_failure(e.check.state)) {
            return static_cast<int>(ExitCode::verification_failed);
        }
        unreachable = unreachable || !e.reachable;
    }
    return unreachable ? static_cast<int>(ExitCode::unreachable) : 0;
}

std::string utc_text(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

namespace {

// The host's certificates, each judged; `files` maps path -> content (absent: missing).
void judge_host(const Inventory& inv, const HostSpec& h, const pki::ClusterPki& state, Transport* t,
                std::chrono::system_clock::time_point now, int warn_days,
                std::vector<CertEntry>& out) {
    std::string unreachable;
    for (const auto& c : host_certificates(inv, h)) {
        CertEntry e{h.name, c.service, c.cert_path, true, "", {}};
        std::optional<std::string> in_state;
        if (c.service == k_ca_service) {
            in_state = state.ca.cert_pem;
        } else if (auto it = state.certs.find(h.name + "." + c.service); it != state.certs.end()) {
            in_state = it->second.cert_pem;
        }
        std::optional<std::string> on_host;
        if (unreachable.empty()) {
            try {
                on_host = t == nullptr ? std::nullopt : t->read_file(c.cert_path, true);
            } catch (const Error& err) {
                unreachable = err.what();
            }
        }
        if (!unreachable.empty()) {
            e.reachable = false;
            e.error = unreachable;
            out.push_back(std::move(e));
            continue;
        }
        e.check = pki::judge_certificate(on_host, in_state, state.ca.cert_pem, now, warn_days);
        if (!in_state && on_host) {
            e.check.problems.push_back("the state directory has no copy of it");
            if (!pki::is_failure(e.check.state)) {
                e.check.state = pki::CertState::mismatch;
            }
        }
        out.push_back(std::move(e));
    }
}

}  // namespace

CertsReport collect_cert_status(const Inventory& inv, const pki::ClusterPki& state,
                                const TransportMap& transports,
                                std::chrono::system_clock::time_point now, int warn_days) {
    CertsReport r;
    r.cluster = inv.cluster;
    r.warn_days = warn_days;
    r.ca = pki::inspect(state.ca.cert_pem);
    r.ca_days_left =
        std::chrono::duration_cast<std::chrono::hours>(r.ca.not_after - now).count() / 24;
    for (const auto& h : inv.hosts) {
        auto it = transports.find(h.name);
        judge_host(inv, h, state, it == transports.end() ? nullptr : it->second, now, warn_days,
                   r.entries);
    }
    CertEntry op{k_operator_host,
                 pki::k_operator_name,
                 pki::pki_dir(inv.paths.state_dir) + "/" + pki::k_operator_name + ".crt",
                 true,
                 "",
                 {}};
    auto it = state.certs.find(pki::k_operator_name);
    op.check = pki::judge_certificate(
        it == state.certs.end() ? std::nullopt : std::optional<std::string>(it->second.cert_pem),
        std::nullopt, state.ca.cert_pem, now, warn_days);
    r.entries.push_back(std::move(op));
    return r;
}

namespace {

nlohmann::json entry_json(const CertEntry& e) {
    using nlohmann::json;
    const auto& c = e.check;
    json j{{"host", e.host},           {"service", e.service},   {"path", e.path},
           {"state", e.state_name()},  {"subject", nullptr},     {"issuer", nullptr},
           {"serial", nullptr},        {"dns_names", nullptr},   {"ip_addresses", nullptr},
           {"not_before", nullptr},    {"not_after", nullptr},   {"days_left", nullptr},
           {"matches_state", nullptr}, {"chains_to_ca", nullptr}};
    if (c.info) {
        j["subject"] = c.info->subject_cn;
        j["issuer"] = c.info->issuer_cn;
        j["serial"] = c.info->serial_hex;
        j["dns_names"] = c.info->dns_names;
        j["ip_addresses"] = c.info->ip_addresses;
        j["not_before"] = utc_text(c.info->not_before);
        j["not_after"] = utc_text(c.info->not_after);
        j["days_left"] = c.days_left;
        j["chains_to_ca"] = c.chains_to_ca;
    }
    if (c.matches_state) {
        j["matches_state"] = *c.matches_state;
    }
    json problems = c.problems;
    if (!e.reachable) {
        problems = json::array({"the host could not be read: " + e.error});
    }
    j["problems"] = problems;
    return j;
}

std::string sans_text(const pki::CertInfo& info) {
    std::string out;
    for (const auto& n : info.dns_names) {
        out += (out.empty() ? "" : ",") + n;
    }
    for (const auto& a : info.ip_addresses) {
        out += (out.empty() ? "" : ",") + a;
    }
    return out;
}

}  // namespace

nlohmann::json certs_to_json(const CertsReport& r) {
    nlohmann::json certs = nlohmann::json::array();
    for (const auto& e : r.entries) {
        certs.push_back(entry_json(e));
    }
    return {{"cluster", r.cluster},
            {"warn_days", r.warn_days},
            {"ok", r.ok()},
            {"exit_code", r.exit_code()},
            {"ca",
             {{"subject", r.ca.subject_cn},
              {"serial", r.ca.serial_hex},
              {"not_after", utc_text(r.ca.not_after)},
              {"days_left", r.ca_days_left}}},
            {"certificates", certs}};
}

std::string render_certs_text(const CertsReport& r) {
    std::ostringstream out;
    out << "cluster " << r.cluster << ": CA \"" << r.ca.subject_cn << "\" until "
        << utc_text(r.ca.not_after) << " (" << r.ca_days_left << " days)\n\n";
    for (const auto& e : r.entries) {
        const auto& c = e.check;
        out << e.host << " " << e.service << "  " << e.state_name() << "\n";
        out << "  path      " << e.path << "\n";
        if (c.info) {
            out << "  subject   " << c.info->subject_cn << "\n";
            if (e.service != k_ca_service) {
                out << "  SANs      " << sans_text(*c.info) << "\n";
            }
            out << "  serial    " << c.info->serial_hex << "\n";
            out << "  not after " << utc_text(c.info->not_after) << " (" << c.days_left
                << " days left)\n";
            out << "  state dir "
                << (!c.matches_state   ? "-"
                    : *c.matches_state ? "same"
                                       : "DIFFERENT")
                << ", CA " << (c.chains_to_ca ? "chains" : "DOES NOT CHAIN") << "\n";
        }
        if (!e.reachable) {
            out << "  ! the host could not be read: " << e.error << "\n";
        }
        for (const auto& p : c.problems) {
            out << "  ! " << p << "\n";
        }
    }
    int failing = 0;
    int warnings = 0;
    for (const auto& e : r.entries) {
        failing += e.reachable && pki::is_failure(e.check.state) ? 1 : 0;
        warnings += e.reachable && e.check.state == pki::CertState::expiring ? 1 : 0;
    }
    out << "\n"
        << r.entries.size() << " certificate(s): " << failing << " failing, " << warnings
        << " expiring within " << r.warn_days << " days";
    if (r.ok()) {
        out << "\nok\n";
    } else if (failing > 0) {
        out << "\nNOT OK: `pgdr certs rotate` installs new ones and reloads the services\n";
    } else {
        out << "\nNOT OK: a host could not be read\n";
    }
    return out.str();
}

}  // namespace pgdr::pg
