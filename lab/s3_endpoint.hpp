// The lab's S3 endpoint (issue 14): the twin's S3 store (twin/s3.hpp) served over HTTPS on the
// lab bridge's host address, so that the lab hosts' pgBackRest has an object-storage repository
// off the cluster, as OVH Object Storage is in production.
//
// `pgdr lab up` starts `pgdr lab s3-serve` as a background process (its PID in DIR/s3/pid,
// stopped by `lab down`). Everything lives under DIR/s3/: a lab CA and a server certificate for
// the listening address (EC P-256, made with pki/), one bucket `pgdr-lab`, one credential scoped
// to that bucket in a 0600 file in the format of <state>/secrets/s3-credentials, and the objects
// under data/. The lab inventory gets the matching `backup:` section.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pgdr::lab {

constexpr const char* k_s3_bucket = "pgdr-lab";
constexpr const char* k_s3_region = "lab";
constexpr int k_s3_port = 9000;

// An S3 access key and its secret: the file "access_key=...\nsecret_key=...\n" (0600).
struct S3Keys {
    std::string access_key;
    std::string secret_key;
};
std::string render_s3_keys(const S3Keys& keys);
// nullopt when either line is missing or empty (other lines and comments are ignored).
std::optional<S3Keys> parse_s3_keys(const std::string& text);

struct LabS3Paths {
    // lab_dir/s3 (the OVH twin's: DIR/twin/s3).
    explicit LabS3Paths(const std::string& lab_dir) : dir(lab_dir + "/s3") {}
    std::string dir;
    std::string ca_cert() const { return dir + "/ca.pem"; }
    std::string ca_key() const { return dir + "/ca.key"; }
    std::string server_cert() const { return dir + "/server.pem"; }
    std::string server_key() const { return dir + "/server.key"; }
    std::string credentials() const { return dir + "/credentials"; }
    std::string data() const { return dir + "/data"; }
    std::string pid() const { return dir + "/pid"; }
    std::string port() const { return dir + "/port"; }
    std::string log() const { return dir + "/s3.log"; }
};

// The CA (made once) and a server certificate whose subjectAltNames are exactly these IP
// addresses and DNS names (made again when they differ or it expires within 30 days).
void ensure_s3_certificate(const LabS3Paths& paths, const std::vector<std::string>& ips,
                           const std::vector<std::string>& dns);

// Makes what is missing under DIR/s3 (0700; keys and credentials 0600): the CA, a server
// certificate whose only subjectAltName is `address` (made again when it names another address
// or expires within 30 days), and a random credential. Existing ones are kept. Returns the keys.
S3Keys ensure_lab_s3_files(const LabS3Paths& paths, const std::string& address);

// The inventory's `backup:` section for the lab endpoint at address:port (YAML, two-space
// indentation, ending with a newline).
std::string render_lab_backup_section(const LabS3Paths& paths, const std::string& address,
                                      int port);

}  // namespace pgdr::lab
