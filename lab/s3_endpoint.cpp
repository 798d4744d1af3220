#include "lab/s3_endpoint.hpp"

#include <cctype>
#include <chrono>
#include <filesystem>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/strings.hpp"
#include "lab/proc.hpp"
#include "pki/certificate.hpp"

namespace pgdr::lab {

std::string render_s3_keys(const S3Keys& keys) {
    return "access_key=" + keys.access_key + "\nsecret_key=" + keys.secret_key + "\n";
}

std::optional<S3Keys> parse_s3_keys(const std::string& text) {
    S3Keys keys;
    for (const auto& raw : lines(text)) {
        const std::string line = trim(raw);
        const auto eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string::npos) {
            continue;
        }
        const std::string name = trim(line.substr(0, eq));
        const std::string value = trim(line.substr(eq + 1));
        if (name == "access_key") {
            keys.access_key = value;
        } else if (name == "secret_key") {
            keys.secret_key = value;
        }
    }
    if (keys.access_key.empty() || keys.secret_key.empty()) {
        return std::nullopt;
    }
    return keys;
}

namespace {

bool server_cert_fits(const LabS3Paths& paths, const std::vector<std::string>& ips,
                      const std::vector<std::string>& dns) {
    auto ca = read_text_file(paths.ca_cert());
    auto cert = read_text_file(paths.server_cert());
    auto key = read_text_file(paths.server_key());
    if (!ca || !cert || !key) {
        return false;
    }
    try {
        const auto info = pki::inspect(*cert);
        const auto left = info.not_after - std::chrono::system_clock::now();
        return info.ip_addresses == ips && info.dns_names == dns &&
               left > std::chrono::hours(24 * 30) && pki::verify(*ca, *cert) &&
               pki::key_matches(*cert, *key);
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

void ensure_s3_certificate(const LabS3Paths& paths, const std::vector<std::string>& ips,
                           const std::vector<std::string>& dns) {
    ensure_directory(paths.dir, 0700);
    ensure_directory(paths.data(), 0700);
    std::optional<pki::KeyPair> ca;
    if (auto cert = read_text_file(paths.ca_cert()), key = read_text_file(paths.ca_key());
        cert && key) {
        ca = pki::KeyPair{*cert, *key};
    } else {
        ca = pki::make_ca("pgdr lab S3 CA", std::chrono::hours(24 * 3650));
        // The server certificate of an older CA would no longer verify.
        std::error_code ec;
        std::filesystem::remove(paths.server_cert(), ec);
        write_file_atomic(paths.ca_key(), ca->key_pem, 0600);
        write_file_atomic(paths.ca_cert(), ca->cert_pem, 0644);
    }
    if (!server_cert_fits(paths, ips, dns)) {
        pki::CertRequest req;
        req.common_name = !ips.empty() ? ips.front() : dns.front();
        req.ip_addresses = ips;
        req.dns_names = dns;
        req.usage = pki::Usage::server;
        req.validity = std::chrono::hours(24 * 825);
        const auto leaf = pki::issue(*ca, req);
        write_file_atomic(paths.server_key(), leaf.key_pem, 0600);
        write_file_atomic(paths.server_cert(), leaf.cert_pem, 0644);
    }
}

S3Keys ensure_lab_s3_files(const LabS3Paths& paths, const std::string& address) {
    // The address as a DNS name too: pgBackRest 2.45 (Debian 12) checks the host it dials
    // against DNS names only, never IP SANs (pgbackrest#1977).
    ensure_s3_certificate(paths, {address}, {address});
    if (auto text = read_text_file(paths.credentials()); text) {
        if (auto keys = parse_s3_keys(*text)) {
            return *keys;
        }
    }
    S3Keys keys{"PGDRLAB" + random_hex(13), random_hex(40)};
    for (auto& c : keys.access_key) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    write_file_atomic(paths.credentials(), render_s3_keys(keys), 0600);
    return keys;
}

std::string render_lab_backup_section(const LabS3Paths& paths, const std::string& address,
                                      int port) {
    return "# Written by `pgdr lab up`: the lab's S3 endpoint (its s3-serve process, HTTPS).\n"
           "backup:\n"
           "  repo:\n"
           "    type: s3\n"
           "    endpoint: \"" +
           address + ":" + std::to_string(port) +
           "\"\n"
           "    region: " +
           k_s3_region +
           "\n"
           "    bucket: " +
           k_s3_bucket +
           "\n"
           "    uri_style: path\n"
           "    ca_file: \"" +
           paths.ca_cert() +
           "\"\n"
           "    credentials_file: \"" +
           paths.credentials() + "\"\n";
}

}  // namespace pgdr::lab
