// OVH API credentials, found where OVH's official clients look (ovh-api.md §2):
//   endpoint:   provider.ovh.endpoint in the inventory, else OVH_ENDPOINT, else [default]
//               endpoint in ovh.conf, else "ovh-eu" (go-ovh's default)
//   keys:       OVH_APPLICATION_KEY / OVH_APPLICATION_SECRET / OVH_CONSUMER_KEY, else the
//               [<endpoint>] section of ./ovh.conf, else ~/.ovh.conf, else /etc/ovh.conf
// Files are merged key by key (like python-ovh and go-ovh): a key missing from ./ovh.conf is
// taken from ~/.ovh.conf, and so on. The endpoint is a known name (ovh-eu, ovh-ca, ovh-us,
// kimsufi-*, soyoustart-*) or, as go-ovh accepts, a base URL such as
// https://api.eu.ovhcloud.com/1.0 (OVH's new domains) or http://127.0.0.1:PORT/1.0 (a fake).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pgdr::ovh {

struct Credentials {
    std::string endpoint;  // as configured: a name or a URL
    std::string base_url;  // v1 base, e.g. https://eu.api.ovh.com/1.0
    std::string application_key;
    std::string application_secret;
    std::string consumer_key;
    // Where each setting came from ("OVH_CONSUMER_KEY", "/home/me/.ovh.conf", "inventory",
    // "default"), by setting name (endpoint, application_key, ...). Never the values.
    std::map<std::string, std::string> origin;
};

struct CredentialSources {
    // Environment lookup; std::nullopt when unset.
    std::function<std::optional<std::string>(const std::string&)> env;
    // ovh.conf files, LOWEST precedence first (/etc, then ~, then ./); missing files are skipped.
    std::vector<std::string> files;

    // The process environment and /etc/ovh.conf, ~/.ovh.conf, ./ovh.conf.
    static CredentialSources from_system();
};

// Reads the settings; never throws for missing keys (see require_complete). Throws
// pgdr::Error (exit 3) for an unknown endpoint name or an unreadable file.
Credentials load_credentials(const CredentialSources& sources,
                             const std::string& inventory_endpoint = {});

// Throws pgdr::Error (exit 3) naming every missing setting and where it may be set.
// need_consumer_key is false for `pgdr ovh credential`, which creates one.
void require_complete(const Credentials& creds, bool need_consumer_key = true);

// "ovh-eu" -> "https://eu.api.ovh.com/1.0"; a URL is returned without a trailing slash.
// Throws pgdr::Error (exit 3) for an unknown name, listing the known ones, and for a plain
// http:// URL whose host is not loopback (127.0.0.0/8, localhost, [::1]).
bool is_loopback_url(const std::string& url);
std::string endpoint_base_url(const std::string& endpoint);

// The absolute URL of an API path, with the official clients' rule: a path that starts with
// /v1/ or /v2/ replaces the base's trailing /1.0 (so /v2/... goes to https://host/v2/...).
std::string target_url(const std::string& base_url, const std::string& path);

// INI text -> section -> key -> value ('=' or ':' separators, ';' and '#' comments).
std::map<std::string, std::map<std::string, std::string>> parse_ini(const std::string& text);

}  // namespace pgdr::ovh
