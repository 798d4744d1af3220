#include "core/inventory.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>

#include "core/net_address.hpp"
#include "core/strings.hpp"

namespace pgdr {

std::string to_string(Service s) {
    switch (s) {
        case Service::postgres:
            return "postgres";
        case Service::etcd:
            return "etcd";
        case Service::haproxy:
            return "haproxy";
        case Service::monitor:
            return "monitor";
    }
    return "?";
}

std::string Diagnostic::format() const {
    std::ostringstream os;
    os << file;
    if (line > 0) {
        os << ':' << line << ':' << column;
    }
    os << ": " << message;
    return os.str();
}

namespace {
std::string summarize(const std::vector<Diagnostic>& diags) {
    std::string out = "invalid inventory (" + std::to_string(diags.size()) + " problem" +
                      (diags.size() == 1 ? "" : "s") + "):";
    for (const auto& d : diags) {
        out += "\n  " + d.format();
    }
    return out;
}
}  // namespace

InventoryError::InventoryError(std::vector<Diagnostic> diagnostics)
    : Error(ExitCode::invalid_config, summarize(diagnostics),
            "fix the inventory (see pgdr-inventory(5)), then run `pgdr inventory check`"),
      m_diagnostics(std::move(diagnostics)) {}

int edit_distance(const std::string& a, const std::string& b) {
    std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        prev[j] = static_cast<int>(j);
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = static_cast<int>(i);
        for (size_t j = 1; j <= b.size(); ++j) {
            int sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

int postgres_major_for_release(const std::string& release) {
    if (release == "trixie") {
        return 17;
    }
    if (release == "bookworm") {
        return 15;
    }
    return 0;
}

std::optional<TimingProfile> timing_profile(const std::string& name) {
    // default: cloud-safe leases (etcd and network hiccups of a few seconds do not fail over).
    // fast: one region, low latency; ttl 20 is the floor Patroni 4 enforces.
    // safe: long leases for noisy networks.
    // Each keeps loop_wait + 2 * retry_timeout <= ttl, as Patroni requires.
    if (name == "default") {
        return TimingProfile{30, 5, 10, 1000, 250, 2, 1};
    }
    if (name == "fast") {
        return TimingProfile{20, 2, 4, 500, 100, 2, 1};
    }
    if (name == "safe") {
        return TimingProfile{60, 10, 20, 2000, 500, 3, 2};
    }
    return std::nullopt;
}

std::vector<const HostSpec*> Inventory::guard_hosts() const {
    std::vector<const HostSpec*> out;
    if (!guard.hosts.empty()) {
        for (const auto& h : hosts) {
            if (std::find(guard.hosts.begin(), guard.hosts.end(), h.name) != guard.hosts.end()) {
                out.push_back(&h);
            }
        }
        return out;
    }
    for (const auto& h : hosts) {
        if (h.services.count(Service::haproxy) && !h.services.count(Service::postgres)) {
            out.push_back(&h);
        }
    }
    if (out.size() >= 2) {
        return out;
    }
    return hosts_with(Service::postgres);
}

std::vector<const HostSpec*> Inventory::hosts_with(Service s) const {
    std::vector<const HostSpec*> out;
    for (const auto& h : hosts) {
        if (h.runs(s)) {
            out.push_back(&h);
        }
    }
    return out;
}

const HostSpec* Inventory::find_host(const std::string& name) const {
    for (const auto& h : hosts) {
        if (h.name == name) {
            return &h;
        }
    }
    return nullptr;
}

PortAccess Inventory::port_access() const {
    if (port_access_setting) {
        return *port_access_setting;
    }
    return provider == ProviderKind::ovh ? PortAccess::ssh : PortAccess::automatic;
}

namespace {

const std::regex k_name_re("^[a-z][a-z0-9-]{0,30}$");
const std::regex k_hostname_re("^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$");
const std::regex k_user_re("^[a-z_][a-z0-9_-]{0,31}$");
// An address or DNS name (no spaces, quotes or shell characters: it lands in messages and argv).
const std::regex k_host_re("^[A-Za-z0-9:.-]{1,253}$");
// [user@]host[:port]; an IPv6 host in brackets.
const std::regex k_jump_re(
    "^([a-z_][a-z0-9_-]{0,31}@)?([A-Za-z0-9.-]{1,253}|\\[[0-9A-Fa-f:.]{2,45}\\])(:[0-9]{1,5})?$");
const std::regex k_region_re("^[A-Za-z0-9-]{1,32}$");
const std::regex k_ovh_id_re("^[A-Za-z0-9-]{1,64}$");
constexpr std::size_t k_max_matched_length = 4096;

// Why text is not a CIDR; host bits set is the usual mistake, so name the network meant.
std::string cidr_problem(const std::string& text) {
    auto slash = text.find('/');
    if (slash != std::string::npos) {
        auto address = parse_ipv4(text.substr(0, slash));
        auto prefix_only = parse_cidr("0.0.0.0" + text.substr(slash));
        if (address && prefix_only) {
            Cidr meant{*address & prefix_only->mask(), prefix_only->prefix};
            return "has host bits set; did you mean " + meant.to_string() + "?";
        }
    }
    return "is not an IPv4 CIDR such as 198.18.0.0/24";
}

// Collects diagnostics while walking the YAML tree.
class Reader {
  public:
    explicit Reader(std::string file) : m_file(std::move(file)) {}

    void error(const YAML::Node& at, const std::string& message) {
        auto mark = at.Mark();
        add(mark.line < 0 ? 0 : mark.line + 1, mark.column < 0 ? 0 : mark.column + 1, message);
    }
    void error_at(const YAML::Mark& mark, const std::string& message) {
        add(mark.line + 1, mark.column + 1, message);
    }
    void add(int line, int column, const std::string& message) {
        m_diags.push_back(Diagnostic{m_file, line, column, message});
    }
    std::vector<Diagnostic>& diagnostics() { return m_diags; }

    static std::string describe(const YAML::Node& n) {
        switch (n.Type()) {
            case YAML::NodeType::Null:
                return "nothing";
            case YAML::NodeType::Sequence:
                return "a list";
            case YAML::NodeType::Map:
                return "a mapping";
            case YAML::NodeType::Scalar:
                return "'" + printable(n.Scalar()) + "'";
            default:
                return "an undefined value";
        }
    }

    // Non-printable characters shown escaped, so a hostile value cannot garble the terminal.
    static std::string printable(const std::string& s) {
        std::string out;
        for (unsigned char c : s) {
            if (c == '\n') {
                out += "\\n";
            } else if (c == '\\' || c == '\'') {
                // Values are printed between single quotes: escape them so the value is exact.
                out += '\\';
                out += static_cast<char>(c);
            } else if (c < 0x20 || c == 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
        if (out.size() > 80) {
            out = out.substr(0, 77) + "...";
        }
        return out;
    }

    // Checks that `map` is a mapping whose keys are all in `allowed` (and not repeated).
    // Returns false when it is not a mapping at all.
    bool check_map(const YAML::Node& map, const std::string& what,
                   const std::vector<std::string>& allowed) {
        if (!map.IsMap()) {
            error(map, what + ": expected a mapping, found " + describe(map));
            return false;
        }
        std::set<std::string> seen;
        for (const auto& kv : map) {
            if (!kv.first.IsScalar()) {
                error(kv.first, what + ": keys must be plain words");
                continue;
            }
            const std::string key = kv.first.Scalar();
            if (!seen.insert(key).second) {
                error(kv.first, what + ": duplicate key '" + printable(key) + "'");
            }
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                std::string msg = what + ": unknown key '" + printable(key) + "'";
                std::string best;
                int best_d = 3;
                for (const auto& a : allowed) {
                    int d = edit_distance(key, a);
                    if (d < best_d) {
                        best_d = d;
                        best = a;
                    }
                }
                if (!best.empty()) {
                    msg += "; did you mean '" + best + "'?";
                } else {
                    msg += " (expected one of: " + join(allowed) + ")";
                }
                error(kv.first, msg);
            }
        }
        return true;
    }

    std::optional<std::string> string_value(const YAML::Node& n, const std::string& what) {
        if (!n.IsScalar()) {
            error(n, what + ": expected a string, found " + describe(n));
            return std::nullopt;
        }
        return n.Scalar();
    }

    // map[key] as a string; `missing` is reported at the map when it has no such key.
    std::optional<std::string> required_string(const YAML::Node& map, const char* key,
                                               const std::string& what,
                                               const std::string& missing) {
        if (!map[key]) {
            error(map, missing);
            return std::nullopt;
        }
        return string_value(map[key], what);
    }

    std::optional<long long> int_value(const YAML::Node& n, const std::string& what, long long lo,
                                       long long hi) {
        if (!n.IsScalar()) {
            error(n, what + ": expected a whole number, found " + describe(n));
            return std::nullopt;
        }
        const std::string& s = n.Scalar();
        static const std::regex k_int("^-?[0-9]{1,18}$");
        if (!std::regex_match(s, k_int)) {
            error(n, what + ": expected a whole number, found '" + printable(s) + "'");
            return std::nullopt;
        }
        long long v = std::stoll(s);
        if (v < lo || v > hi) {
            error(n, what + ": " + s + " is out of range (" + std::to_string(lo) + " to " +
                         std::to_string(hi) + ")");
            return std::nullopt;
        }
        return v;
    }

    std::optional<bool> bool_value(const YAML::Node& n, const std::string& what) {
        if (n.IsScalar()) {
            const std::string& s = n.Scalar();
            if (s == "true" || s == "yes" || s == "on") {
                return true;
            }
            if (s == "false" || s == "no" || s == "off") {
                return false;
            }
        }
        error(n, what + ": expected true or false, found " + describe(n));
        return std::nullopt;
    }

    std::optional<std::string> matching(const YAML::Node& n, const std::string& what,
                                        const std::regex& re, const std::string& expected) {
        auto s = string_value(n, what);
        if (!s) {
            return std::nullopt;
        }
        // std::regex matches recursively, one frame per character: a huge value would
        // overflow the stack, so refuse it before matching. No valid value is this long.
        if (s->size() > k_max_matched_length) {
            error(n, what + ": a value of " + std::to_string(s->size()) +
                         " characters is too long; expected " + expected);
            return std::nullopt;
        }
        if (!std::regex_match(*s, re)) {
            error(n, what + ": '" + printable(*s) + "' is not valid; expected " + expected);
            return std::nullopt;
        }
        return s;
    }

  private:
    std::string m_file;
    std::vector<Diagnostic> m_diags;
};

template <typename T, typename Fn>
void read_opt(const YAML::Node& map, const char* key, T& target, Fn&& fn) {
    if (map.IsMap() && map[key]) {
        if (auto v = fn(map[key])) {
            target = static_cast<T>(*v);
        }
    }
}

std::string resolve_path(const std::string& base_file, const std::string& p) {
    if (p.empty()) {
        return p;
    }
    // "~" and "~/..." are the user's home; "~user/..." is left alone (not ours to resolve).
    if (p == "~" || p.rfind("~/", 0) == 0) {
        const char* home = std::getenv("HOME");
        return std::string(home ? home : "") + p.substr(1);
    }
    if (p[0] == '/' || p[0] == '~' || base_file.empty()) {
        return p;
    }
    auto dir = std::filesystem::path(base_file).parent_path();
    return (dir / p).lexically_normal().string();
}

// A path from the inventory, relative to the inventory's folder.
std::optional<std::string> path_value(Reader& r, const YAML::Node& v, const std::string& what,
                                      const std::string& file) {
    auto s = r.string_value(v, what);
    return s ? std::optional<std::string>(resolve_path(file, *s)) : s;
}

// A list of CIDR blocks that lets clients in: `why_not` says why a value is not a CIDR, and
// `wide_open` why 0.0.0.0/0 is refused.
void read_cidr_list(Reader& r, const YAML::Node& list, const std::string& what,
                    const std::function<std::string(const std::string&)>& why_not,
                    const std::string& wide_open, std::vector<std::string>& out) {
    if (!list.IsSequence()) {
        r.error(list, what + ": expected a list");
        return;
    }
    for (const auto& c : list) {
        auto s = r.string_value(c, what);
        if (!s) {
            continue;
        }
        auto parsed = parse_cidr(*s);
        if (!parsed) {
            r.error(c, what + ": '" + Reader::printable(*s) + "' " + why_not(*s));
        } else if (parsed->prefix == 0) {
            r.error(c, what + ": 0.0.0.0/0 would open " + wide_open);
        } else {
            out.push_back(parsed->to_string());
        }
    }
}

void read_ssh(Reader& r, const YAML::Node& n, const std::string& what, SshSettings& ssh,
              const std::string& file) {
    if (!r.check_map(n, what,
                     {"user", "port", "identity_file", "known_hosts", "connect_timeout",
                      "command_timeout", "jump_host", "address"})) {
        return;
    }
    read_opt(n, "user", ssh.user, [&](const YAML::Node& v) {
        return r.matching(v, what + ".user", k_user_re, "a Unix user name");
    });
    read_opt(n, "port", ssh.port,
             [&](const YAML::Node& v) { return r.int_value(v, what + ".port", 1, 65535); });
    read_opt(n, "identity_file", ssh.identity_file,
             [&](const YAML::Node& v) { return path_value(r, v, what + ".identity_file", file); });
    read_opt(n, "known_hosts", ssh.known_hosts,
             [&](const YAML::Node& v) { return path_value(r, v, what + ".known_hosts", file); });
    read_opt(n, "connect_timeout", ssh.connect_timeout_s, [&](const YAML::Node& v) {
        return r.int_value(v, what + ".connect_timeout (seconds)", 1, 600);
    });
    read_opt(n, "command_timeout", ssh.command_timeout_s, [&](const YAML::Node& v) {
        return r.int_value(v, what + ".command_timeout (seconds)", 1, 86400);
    });
    read_opt(n, "jump_host", ssh.jump_host, [&](const YAML::Node& v) {
        return r.matching(v, what + ".jump_host", k_jump_re,
                          "[user@]host[:port], e.g. debian@bastion.example.net:22");
    });
    read_opt(n, "address", ssh.address, [&](const YAML::Node& v) {
        return r.matching(v, what + ".address", k_host_re, "an address or host name");
    });
}

// ---- the top-level keys: cluster, production, release, postgres_version ----

void read_cluster_name(Reader& r, const YAML::Node& root, Inventory& inv) {
    if (!root["cluster"]) {
        r.error(root, "missing required key 'cluster' (the cluster's name)");
    } else if (auto c = r.matching(root["cluster"], "cluster", k_name_re,
                                   "lower-case letters, digits and '-', starting with a letter, "
                                   "at most 31 characters")) {
        inv.cluster = *c;
    }
}

// The Debian release; false when it is given but not one pgdr knows.
bool read_release(Reader& r, const YAML::Node& root, Inventory& inv) {
    if (!root["release"]) {
        return true;
    }
    auto rel = r.string_value(root["release"], "release");
    if (!rel) {
        return false;
    }
    if (postgres_major_for_release(*rel) == 0) {
        r.error(root["release"], "release: '" + Reader::printable(*rel) +
                                     "' is not supported (expected trixie or bookworm)");
        return false;
    }
    inv.release = *rel;
    return true;
}

// postgres_version may only repeat what the release ships.
void read_postgres_version(Reader& r, const YAML::Node& root, bool release_known, Inventory& inv) {
    inv.postgres_version = postgres_major_for_release(inv.release);
    if (!root["postgres_version"]) {
        return;
    }
    // Compared only with a release we know; a bad release is already reported.
    auto v = r.int_value(root["postgres_version"], "postgres_version", 10, 99);
    if (v && release_known && *v != inv.postgres_version) {
        r.error(root["postgres_version"],
                "postgres_version: Debian " + inv.release + " ships PostgreSQL " +
                    std::to_string(inv.postgres_version) + ", not " + std::to_string(*v) +
                    " (set release, or drop postgres_version)");
    }
}

void read_top_level(Reader& r, const YAML::Node& root, Inventory& inv) {
    read_cluster_name(r, root, inv);
    read_opt(root, "production", inv.production,
             [&](const YAML::Node& v) { return r.bool_value(v, "production"); });
    const bool release_known = read_release(r, root, inv);
    read_postgres_version(r, root, release_known, inv);
}

// ---- network ----

void read_network_cidr(Reader& r, const YAML::Node& net, Inventory& inv) {
    auto c = r.required_string(net, "cidr", "network.cidr", "network: missing required key 'cidr'");
    if (!c) {
        return;
    }
    auto parsed = parse_cidr(*c);
    if (!parsed) {
        r.error(net["cidr"], "network.cidr: '" + Reader::printable(*c) + "' " + cidr_problem(*c));
    } else if (parsed->prefix < 8) {
        r.error(net["cidr"], "network.cidr: /" + std::to_string(parsed->prefix) +
                                 " is wider than any cluster subnet should be");
    } else {
        inv.network_cidr = parsed->to_string();
    }
}

void read_port_access(Reader& r, const YAML::Node& node, Inventory& inv) {
    static const std::map<std::string, PortAccess> k_access{
        {"auto", PortAccess::automatic}, {"ssh", PortAccess::ssh}, {"direct", PortAccess::direct}};
    auto a = r.string_value(node, "network.port_access");
    if (!a) {
        return;
    }
    if (auto it = k_access.find(*a); it != k_access.end()) {
        inv.port_access_setting = it->second;
    } else {
        r.error(node, "network.port_access: '" + Reader::printable(*a) +
                          "' is not one of auto, ssh, direct");
    }
}

void read_network(Reader& r, const YAML::Node& root, Inventory& inv) {
    if (!root["network"]) {
        r.error(root, "missing required key 'network' (with cidr: the cluster's subnet)");
        return;
    }
    const auto& net = root["network"];
    if (!r.check_map(net, "network", {"cidr", "ssh_allowed_cidrs", "port_access"})) {
        return;
    }
    read_network_cidr(r, net, inv);
    if (net["port_access"]) {
        read_port_access(r, net["port_access"], inv);
    }
    if (net["ssh_allowed_cidrs"]) {
        read_cidr_list(r, net["ssh_allowed_cidrs"], "network.ssh_allowed_cidrs", cidr_problem,
                       "SSH to the whole Internet; name your bastion's or office's range",
                       inv.ssh_allowed_cidrs);
    }
}

// ---- hosts ----

// Names and addresses seen so far, for the duplicate checks.
struct HostsSeen {
    std::map<std::string, int> name_lines;
    std::map<std::string, std::string> address_owners;
};

void read_host_name(Reader& r, const YAML::Node& h, const std::string& what, HostSpec& host,
                    HostsSeen& seen) {
    if (!h["name"]) {
        r.error(h, what + ": missing required key 'name'");
        return;
    }
    auto name = r.matching(h["name"], what + ".name", k_name_re,
                           "lower-case letters, digits and '-', starting with a letter, at most "
                           "31 characters");
    if (!name) {
        return;
    }
    host.name = *name;
    if (seen.name_lines.count(*name)) {
        r.error(h["name"], what + ".name: duplicate host '" + *name + "' (first declared on line " +
                               std::to_string(seen.name_lines[*name]) + ")");
    } else {
        seen.name_lines[*name] = h["name"].Mark().line + 1;
    }
}

void read_host_address(Reader& r, const YAML::Node& node, const std::string& what, HostSpec& host,
                       HostsSeen& seen) {
    auto a = r.string_value(node, what + ".address");
    if (!a) {
        return;
    }
    // Digits and dots only is a mistyped address (198.18.0.300), never a host name.
    const bool numeric = a->find_first_not_of("0123456789.") == std::string::npos;
    if (numeric && !parse_ipv4(*a)) {
        r.error(node, what + ".address: '" + Reader::printable(*a) +
                          "' is not an IPv4 address such as 198.18.0.11");
    } else if (!parse_ipv4(*a) && !std::regex_match(*a, k_hostname_re)) {
        r.error(node, what + ".address: '" + Reader::printable(*a) +
                          "' is neither an IPv4 address nor a host name");
    } else if (seen.address_owners.count(*a)) {
        r.error(node,
                what + ".address: " + *a + " is also the address of " + seen.address_owners[*a]);
    } else {
        host.address = *a;
        seen.address_owners[*a] = host.name;
    }
}

void read_host_services(Reader& r, const YAML::Node& h, const std::string& what, HostSpec& host) {
    if (!h["services"]) {
        r.error(h, what + ": missing required key 'services' (postgres, etcd, haproxy)");
        return;
    }
    if (!h["services"].IsSequence()) {
        r.error(h["services"], what +
                                   ".services: expected a list such as [postgres, etcd], found " +
                                   Reader::describe(h["services"]));
        return;
    }
    for (const auto& s : h["services"]) {
        auto name = r.string_value(s, what + ".services");
        if (!name) {
            continue;
        }
        if (*name == "postgres" || *name == "postgresql") {
            host.services.insert(Service::postgres);
        } else if (*name == "etcd") {
            host.services.insert(Service::etcd);
        } else if (*name == "haproxy") {
            host.services.insert(Service::haproxy);
        } else if (*name == "monitor") {
            host.services.insert(Service::monitor);
        } else {
            r.error(s, what + ".services: unknown service '" + Reader::printable(*name) +
                           "' (expected postgres, etcd, haproxy or monitor)");
        }
    }
}

void read_hosts(Reader& r, const YAML::Node& n, Inventory& inv) {
    if (!n.IsSequence()) {
        r.error(n, "hosts: expected a list of hosts, found " + Reader::describe(n));
        return;
    }
    HostsSeen seen;
    int index = 0;
    for (const auto& h : n) {
        const std::string what = "hosts[" + std::to_string(index++) + "]";
        if (!r.check_map(h, what, {"name", "address", "zone", "region", "services", "ssh"})) {
            continue;
        }
        HostSpec host;
        host.line = h.Mark().line + 1;
        read_host_name(r, h, what, host, seen);
        if (h["address"]) {
            read_host_address(r, h["address"], what, host, seen);
        }
        read_opt(h, "zone", host.zone, [&](const YAML::Node& v) {
            return r.matching(v, what + ".zone", k_region_re, "a zone name such as 'a'");
        });
        read_opt(h, "region", host.region, [&](const YAML::Node& v) {
            return r.matching(v, what + ".region", k_region_re, "a region name such as GRA11");
        });
        read_host_services(r, h, what, host);
        // Host-level SSH settings are applied over the defaults by read_hosts_ssh.
        inv.hosts.push_back(host);
    }
}

// Host-level ssh overrides the top-level defaults key by key. inv.hosts holds the hosts that
// are mappings, in order; the index in the message counts those.
void read_hosts_ssh(Reader& r, const YAML::Node& hosts, const SshSettings& defaults,
                    Inventory& inv) {
    size_t i = 0;
    for (const auto& h : hosts) {
        if (i >= inv.hosts.size()) {
            break;
        }
        if (!h.IsMap()) {
            continue;
        }
        inv.hosts[i].ssh = defaults;
        if (h["ssh"]) {
            read_ssh(r, h["ssh"], "hosts[" + std::to_string(i) + "].ssh", inv.hosts[i].ssh,
                     inv.source_path);
        }
        ++i;
    }
}

void read_ssh_and_hosts(Reader& r, const YAML::Node& root, Inventory& inv) {
    SshSettings defaults;
    if (root["ssh"]) {
        read_ssh(r, root["ssh"], "ssh", defaults, inv.source_path);
    }
    if (!root["hosts"]) {
        r.error(root, "missing required key 'hosts'");
        return;
    }
    read_hosts(r, root["hosts"], inv);
    read_hosts_ssh(r, root["hosts"], defaults, inv);
}

// ---- patroni: the timing profile first, explicit values over it ----

void read_timing_name(Reader& r, const YAML::Node& node, Inventory& inv) {
    auto t = r.string_value(node, "patroni.timing");
    if (!t) {
        return;
    }
    if (!timing_profile(*t)) {
        r.error(node, "patroni.timing: unknown profile '" + Reader::printable(*t) +
                          "' (expected default, fast or safe)");
    } else {
        inv.patroni.timing = *t;
    }
}

// The profile's values for Patroni's leases and HAProxy's health checks.
void apply_timing_profile(Inventory& inv) {
    const auto prof = *timing_profile(inv.patroni.timing);
    inv.patroni.ttl = prof.ttl;
    inv.patroni.loop_wait = prof.loop_wait;
    inv.patroni.retry_timeout = prof.retry_timeout;
    inv.haproxy.check_interval_ms = prof.check_interval_ms;
    inv.haproxy.fast_check_interval_ms = prof.fast_check_interval_ms;
    inv.haproxy.fall = prof.fall;
    inv.haproxy.rise = prof.rise;
}

void read_patroni_values(Reader& r, const YAML::Node& p, PatroniSettings& ps) {
    auto whole = [&r](const std::string& what, long long lo, long long hi) {
        return [&r, what, lo, hi](const YAML::Node& v) { return r.int_value(v, what, lo, hi); };
    };
    auto flag = [&r](const std::string& what) {
        return [&r, what](const YAML::Node& v) { return r.bool_value(v, what); };
    };
    read_opt(p, "ttl", ps.ttl, whole("patroni.ttl", 5, 3600));
    read_opt(p, "loop_wait", ps.loop_wait, whole("patroni.loop_wait", 1, 600));
    read_opt(p, "retry_timeout", ps.retry_timeout, whole("patroni.retry_timeout", 1, 600));
    read_opt(p, "maximum_lag_on_failover", ps.maximum_lag_on_failover,
             whole("patroni.maximum_lag_on_failover (bytes)", 0, 1LL << 40));
    read_opt(p, "synchronous_mode", ps.synchronous_mode, flag("patroni.synchronous_mode"));
    read_opt(p, "synchronous_mode_strict", ps.synchronous_mode_strict,
             flag("patroni.synchronous_mode_strict"));
    read_opt(p, "use_pg_rewind", ps.use_pg_rewind, flag("patroni.use_pg_rewind"));
    read_opt(p, "use_slots", ps.use_slots, flag("patroni.use_slots"));
    read_opt(p, "rest_port", ps.rest_port, whole("patroni.rest_port", 1, 65535));
}

// Patroni's own rules for the lease values.
void check_patroni_timing(Reader& r, const YAML::Node& p, const Inventory& inv) {
    const auto& ps = inv.patroni;
    if (ps.loop_wait + 2 * ps.retry_timeout > ps.ttl) {
        r.error(p, "patroni: loop_wait + 2 * retry_timeout (" +
                       std::to_string(ps.loop_wait + 2 * ps.retry_timeout) +
                       ") must not exceed ttl (" + std::to_string(ps.ttl) +
                       "), or a leader can lose its lease while it is still healthy");
    }
    if (inv.release == "trixie" && ps.ttl < 20) {
        r.error(p["ttl"] ? p["ttl"] : p,
                "patroni.ttl: Patroni 4 (Debian trixie) raises any ttl below 20 to 20; "
                "set ttl: 20 or more so that the deployed value is the one you wrote");
    }
}

void read_patroni(Reader& r, const YAML::Node& root, Inventory& inv) {
    const auto& p = root["patroni"];
    const bool present =
        p && r.check_map(p, "patroni",
                         {"timing", "ttl", "loop_wait", "retry_timeout", "maximum_lag_on_failover",
                          "synchronous_mode", "synchronous_mode_strict", "use_pg_rewind",
                          "use_slots", "rest_port"});
    if (present && p["timing"]) {
        read_timing_name(r, p["timing"], inv);
    }
    apply_timing_profile(inv);
    if (present) {
        read_patroni_values(r, p, inv.patroni);
        check_patroni_timing(r, p, inv);
    }
}

// ---- haproxy, etcd, paths ----

void read_haproxy_bind(Reader& r, const YAML::Node& node, HaproxySettings& hs) {
    auto b = r.string_value(node, "haproxy.bind");
    if (b && *b != "private" && *b != "any") {
        r.error(node,
                "haproxy.bind: expected private (the host's cluster address) "
                "or any (every address of the host)");
    } else if (b) {
        hs.bind = *b;
    }
}

void read_haproxy(Reader& r, const YAML::Node& root, Inventory& inv) {
    const auto& h = root["haproxy"];
    if (!h || !r.check_map(h, "haproxy",
                           {"write_port", "read_port", "stats_port", "check_interval_ms",
                            "fast_check_interval_ms", "fall", "rise", "client_cidrs", "bind"})) {
        return;
    }
    auto& hs = inv.haproxy;
    auto whole = [&r](const char* key, long long lo, long long hi) {
        return [&r, key, lo, hi](const YAML::Node& v) {
            return r.int_value(v, std::string("haproxy.") + key, lo, hi);
        };
    };
    read_opt(h, "write_port", hs.write_port, whole("write_port", 1, 65535));
    read_opt(h, "read_port", hs.read_port, whole("read_port", 1, 65535));
    read_opt(h, "stats_port", hs.stats_port, whole("stats_port", 1, 65535));
    read_opt(h, "check_interval_ms", hs.check_interval_ms, whole("check_interval_ms", 100, 60000));
    read_opt(h, "fast_check_interval_ms", hs.fast_check_interval_ms,
             whole("fast_check_interval_ms", 100, 60000));
    read_opt(h, "fall", hs.fall, whole("fall", 1, 100));
    read_opt(h, "rise", hs.rise, whole("rise", 1, 100));
    if (h["bind"]) {
        read_haproxy_bind(r, h["bind"], hs);
    }
    if (h["client_cidrs"]) {
        read_cidr_list(
            r, h["client_cidrs"], "haproxy.client_cidrs",
            [](const std::string&) {
                return std::string("is not a CIDR block such as 203.0.113.0/24");
            },
            "the database ports to the whole Internet; list your clients' ranges", hs.client_cidrs);
    }
}

void read_etcd(Reader& r, const YAML::Node& root, Inventory& inv) {
    const auto& e = root["etcd"];
    if (!e || !r.check_map(e, "etcd", {"client_port", "peer_port"})) {
        return;
    }
    read_opt(e, "client_port", inv.etcd.client_port,
             [&](const YAML::Node& v) { return r.int_value(v, "etcd.client_port", 1, 65535); });
    read_opt(e, "peer_port", inv.etcd.peer_port,
             [&](const YAML::Node& v) { return r.int_value(v, "etcd.peer_port", 1, 65535); });
}

// The `monitoring` section (pgdr-inventory(5)).
void read_monitoring(Reader& r, const YAML::Node& m, MonitoringSettings& ms) {
    if (!r.check_map(m, "monitoring", {"scrape_interval_s", "retention", "webhook_url", "email"})) {
        return;
    }
    read_opt(m, "scrape_interval_s", ms.scrape_interval_s, [&](const YAML::Node& v) {
        return r.int_value(v, "monitoring.scrape_interval_s", 1, 300);
    });
    read_opt(m, "retention", ms.retention, [&](const YAML::Node& v) {
        return r.matching(v, "monitoring.retention", std::regex("[1-9][0-9]{0,4}[hdwy]"),
                          "a duration such as 7d, 36h or 2w");
    });
    read_opt(m, "webhook_url", ms.webhook_url, [&](const YAML::Node& v) {
        return r.matching(v, "monitoring.webhook_url", std::regex("https?://[^\\s'\"]+"),
                          "an http:// or https:// URL");
    });
    const auto& e = m["email"];
    if (!e || !r.check_map(e, "monitoring.email", {"to", "from", "smarthost"})) {
        return;
    }
    const std::regex address("[^@\\s'\"]+@[^@\\s'\"]+");
    if (e["to"] && e["to"].IsSequence()) {
        for (const auto& t : e["to"]) {
            if (auto a = r.matching(t, "monitoring.email.to", address, "an e-mail address")) {
                ms.email_to.push_back(*a);
            }
        }
    } else if (e["to"]) {
        r.error(e["to"], "monitoring.email.to: expected a list of e-mail addresses");
    }
    read_opt(e, "from", ms.email_from, [&](const YAML::Node& v) {
        return r.matching(v, "monitoring.email.from", address, "an e-mail address");
    });
    read_opt(e, "smarthost", ms.email_smarthost, [&](const YAML::Node& v) {
        return r.matching(v, "monitoring.email.smarthost", std::regex("[A-Za-z0-9.-]+:[0-9]{1,5}"),
                          "host:port of an SMTP relay");
    });
    if (ms.email_to.empty() || ms.email_from.empty() || ms.email_smarthost.empty()) {
        r.error(e, "monitoring.email: needs to, from and smarthost");
    }
}

// The `guard` section (pgdr-inventory(5)).
void read_guard(Reader& r, const YAML::Node& g, Inventory& inv) {
    GuardSection& gs = inv.guard;
    if (!r.check_map(g, "guard",
                     {"enabled", "hosts", "probe_interval_ms", "unreachable_after_ms", "quorum",
                      "fence_timeout_s", "fence_action", "fence_on_silence", "provider_endpoint",
                      "provider_ca_file", "credentials_file"})) {
        return;
    }
    read_opt(g, "enabled", gs.enabled,
             [&](const YAML::Node& v) { return r.bool_value(v, "guard.enabled"); });
    if (g["hosts"] && g["hosts"].IsSequence()) {
        for (const auto& h : g["hosts"]) {
            if (auto name = r.string_value(h, "guard.hosts")) {
                gs.hosts.push_back(*name);
            }
        }
    } else if (g["hosts"]) {
        r.error(g["hosts"], "guard.hosts: expected a list of host names");
    }
    read_opt(g, "probe_interval_ms", gs.probe_interval_ms, [&](const YAML::Node& v) {
        return r.int_value(v, "guard.probe_interval_ms", 100, 5000);
    });
    read_opt(g, "unreachable_after_ms", gs.unreachable_after_ms, [&](const YAML::Node& v) {
        return r.int_value(v, "guard.unreachable_after_ms", 500, 600000);
    });
    read_opt(g, "quorum", gs.quorum,
             [&](const YAML::Node& v) { return r.int_value(v, "guard.quorum", 2, 9); });
    read_opt(g, "fence_timeout_s", gs.fence_timeout_s,
             [&](const YAML::Node& v) { return r.int_value(v, "guard.fence_timeout_s", 5, 600); });
    read_opt(g, "fence_action", gs.fence_action, [&](const YAML::Node& v) {
        return r.matching(v, "guard.fence_action", std::regex("reboot|stop"), "reboot or stop");
    });
    read_opt(g, "fence_on_silence", gs.fence_on_silence,
             [&](const YAML::Node& v) { return r.bool_value(v, "guard.fence_on_silence"); });
    read_opt(g, "provider_endpoint", gs.provider_endpoint, [&](const YAML::Node& v) {
        return r.matching(v, "guard.provider_endpoint", std::regex("https://[^\\s'\"]+|ovh-[a-z]+"),
                          "an https:// URL or an OVH endpoint name such as ovh-eu");
    });
    read_opt(g, "provider_ca_file", gs.provider_ca_file, [&](const YAML::Node& v) {
        return path_value(r, v, "guard.provider_ca_file", inv.source_path);
    });
    read_opt(g, "credentials_file", gs.credentials_file, [&](const YAML::Node& v) {
        return path_value(r, v, "guard.credentials_file", inv.source_path);
    });
    if (gs.unreachable_after_ms < 2 * gs.probe_interval_ms) {
        r.error(g, "guard.unreachable_after_ms: must be at least two probe intervals (" +
                       std::to_string(2 * gs.probe_interval_ms) + " ms)");
    }
}

// ---- backup ----

void read_backup_s3(Reader& r, const YAML::Node& repo, BackupRepo& br) {
    static const std::regex k_endpoint(
        "^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?$");
    static const std::regex k_bucket("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$");
    static const std::regex k_s3_region("^[a-z0-9-]{1,32}$");
    const std::pair<const char*, const char*> required[] = {
        {"endpoint", "the object storage's host[:port]"},
        {"region", "the S3 region"},
        {"bucket", "the bucket's name"}};
    for (const auto& [key, what] : required) {
        if (!repo[key]) {
            r.error(repo, std::string("backup.repo: type s3 needs '") + key + "' (" + what + ")");
        }
    }
    read_opt(repo, "endpoint", br.endpoint, [&](const YAML::Node& v) {
        return r.matching(v, "backup.repo.endpoint", k_endpoint,
                          "host[:port] such as s3.gra.io.cloud.ovh.net (no scheme: always https)");
    });
    read_opt(repo, "region", br.region, [&](const YAML::Node& v) {
        return r.matching(v, "backup.repo.region", k_s3_region, "an S3 region such as gra");
    });
    read_opt(repo, "bucket", br.bucket, [&](const YAML::Node& v) {
        return r.matching(v, "backup.repo.bucket", k_bucket,
                          "a bucket name: 3 to 63 lower-case letters, digits, '.' and '-'");
    });
    read_opt(repo, "uri_style", br.uri_style, [&](const YAML::Node& v) {
        return r.matching(v, "backup.repo.uri_style", std::regex("host|path"),
                          "host (bucket.endpoint) or path (endpoint/bucket)");
    });
    if (repo["host"]) {
        r.error(repo["host"], "backup.repo.host: only for type posix (a repository host)");
    }
}

void read_backup_repo(Reader& r, const YAML::Node& repo, const Inventory& inv, BackupRepo& br) {
    if (!r.check_map(repo, "backup.repo",
                     {"type", "endpoint", "region", "bucket", "uri_style", "ca_file",
                      "credentials_file", "path", "host"})) {
        return;
    }
    read_opt(repo, "type", br.type, [&](const YAML::Node& v) {
        return r.matching(v, "backup.repo.type", std::regex("s3|posix"),
                          "s3 (object storage) or posix (a directory on a repository host)");
    });
    read_opt(repo, "ca_file", br.ca_file, [&](const YAML::Node& v) {
        return path_value(r, v, "backup.repo.ca_file", inv.source_path);
    });
    read_opt(repo, "credentials_file", br.credentials_file, [&](const YAML::Node& v) {
        return path_value(r, v, "backup.repo.credentials_file", inv.source_path);
    });
    read_opt(repo, "path", br.path, [&](const YAML::Node& v) {
        static const std::regex k_abs("^/[A-Za-z0-9._/-]*$");
        return r.matching(v, "backup.repo.path", k_abs,
                          "an absolute path of letters, digits, '.', '_', '-' and '/'");
    });
    if (br.type == "s3") {
        read_backup_s3(r, repo, br);
        return;
    }
    for (const char* key :
         {"endpoint", "region", "bucket", "uri_style", "ca_file", "credentials_file"}) {
        if (repo[key]) {
            r.error(repo[key], std::string("backup.repo.") + key + ": only for type s3");
        }
    }
    if (!repo["host"]) {
        r.error(repo, "backup.repo: type posix needs 'host' (the inventory host holding it)");
    }
    read_opt(repo, "host", br.host, [&](const YAML::Node& v) {
        return r.matching(v, "backup.repo.host", k_name_re, "an inventory host's name");
    });
}

void read_backup_schedule(Reader& r, const YAML::Node& s, BackupSchedule& bs) {
    if (!r.check_map(s, "backup.schedule", {"full", "diff"})) {
        return;
    }
    // A systemd OnCalendar expression (checked by systemd-analyze on the hosts); "" for none.
    static const std::regex k_calendar("^[A-Za-z0-9 .,:*/~-]{0,64}$");
    read_opt(s, "full", bs.full, [&](const YAML::Node& v) {
        return r.matching(v, "backup.schedule.full", k_calendar,
                          "a systemd calendar expression such as 'Sun 01:00', or \"\" for none");
    });
    read_opt(s, "diff", bs.diff, [&](const YAML::Node& v) {
        return r.matching(v, "backup.schedule.diff", k_calendar,
                          "a systemd calendar expression such as 'Mon..Sat 01:00', or \"\" for "
                          "none");
    });
}

// The `backup` section (pgdr-inventory(5)); absent: no pgBackRest.
void read_backup(Reader& r, const YAML::Node& b, Inventory& inv) {
    if (!r.check_map(
            b, "backup",
            {"repo", "retention_full", "retention_diff", "compress", "cipher", "schedule"})) {
        return;
    }
    BackupSettings bs;
    if (!b["repo"]) {
        r.error(b, "backup: missing required key 'repo' (where the backups go)");
    } else {
        read_backup_repo(r, b["repo"], inv, bs.repo);
    }
    read_opt(b, "retention_full", bs.retention_full, [&](const YAML::Node& v) {
        return r.int_value(v, "backup.retention_full (full backups kept)", 1, 9999);
    });
    read_opt(b, "retention_diff", bs.retention_diff, [&](const YAML::Node& v) {
        return r.int_value(v, "backup.retention_diff (differential backups kept)", 1, 9999);
    });
    read_opt(b, "compress", bs.compress, [&](const YAML::Node& v) {
        return r.matching(v, "backup.compress", std::regex("none|gz|bz2|lz4|zst"),
                          "one of none, gz, bz2, lz4, zst");
    });
    read_opt(b, "cipher", bs.cipher,
             [&](const YAML::Node& v) { return r.bool_value(v, "backup.cipher"); });
    if (b["schedule"]) {
        read_backup_schedule(r, b["schedule"], bs.schedule);
    }
    if (bs.repo.path.empty()) {
        bs.repo.path = "/pgbackrest/" + (inv.cluster.empty() ? "cluster" : inv.cluster);
    }
    inv.backup = bs;
}

void read_paths(Reader& r, const YAML::Node& root, Inventory& inv) {
    const auto& p = root["paths"];
    if (p && r.check_map(p, "paths", {"state_dir", "archive_dir"})) {
        read_opt(p, "state_dir", inv.paths.state_dir, [&](const YAML::Node& v) {
            return path_value(r, v, "paths.state_dir", inv.source_path);
        });
        read_opt(p, "archive_dir", inv.paths.archive_dir, [&](const YAML::Node& v) {
            static const std::regex k_abs("^/[A-Za-z0-9._/-]*$");
            return r.matching(v, "paths.archive_dir", k_abs,
                              "an absolute path of letters, digits, '.', '_', '-' and '/'");
        });
    }
    if (inv.paths.state_dir.empty()) {
        // <inventory name without extension>.state next to the inventory.
        std::filesystem::path f(inv.source_path.empty() ? "pgdr-inventory" : inv.source_path);
        inv.paths.state_dir = (f.parent_path() / (f.stem().string() + ".state")).string();
    }
}

// ---- provider ----

void read_provider_type(Reader& r, const YAML::Node& p, Inventory& inv) {
    auto t = r.required_string(p, "type", "provider.type",
                               "provider: missing required key 'type' (lab or ovh)");
    if (!t) {
        return;
    }
    if (*t == "lab") {
        inv.provider = ProviderKind::lab;
    } else if (*t == "ovh") {
        inv.provider = ProviderKind::ovh;
    } else {
        r.error(p["type"], "provider.type: unknown provider '" + Reader::printable(*t) +
                               "' (expected lab or ovh)");
    }
}

void read_ovh_regions(Reader& r, const YAML::Node& regions, OvhSettings& ovh) {
    if (!regions.IsSequence()) {
        r.error(regions, "provider.ovh.regions: expected a list");
        return;
    }
    for (const auto& reg : regions) {
        if (auto s = r.matching(reg, "provider.ovh.regions", k_region_re,
                                "a region name such as GRA11")) {
            ovh.regions.push_back(*s);
        }
    }
}

void read_ovh(Reader& r, const YAML::Node& o, Inventory& inv) {
    auto& ovh = inv.ovh;
    read_opt(o, "endpoint", ovh.endpoint,
             [&](const YAML::Node& v) { return r.string_value(v, "provider.ovh.endpoint"); });
    read_opt(o, "project_id", ovh.project_id, [&](const YAML::Node& v) {
        return r.matching(v, "provider.ovh.project_id", k_ovh_id_re,
                          "the Public Cloud project id (32 hex digits)");
    });
    read_opt(o, "flavor", ovh.flavor, [&](const YAML::Node& v) {
        return r.matching(v, "provider.ovh.flavor", k_ovh_id_re, "a flavor name such as b3-8");
    });
    read_opt(o, "image", ovh.image, [&](const YAML::Node& v) {
        static const std::regex k_img("^[A-Za-z0-9 ._-]{1,64}$");
        return r.matching(v, "provider.ovh.image", k_img, "an image name such as 'Debian 13'");
    });
    read_opt(o, "ssh_public_key_file", ovh.ssh_public_key_file, [&](const YAML::Node& v) {
        return path_value(r, v, "provider.ovh.ssh_public_key_file", inv.source_path);
    });
    if (o["regions"]) {
        read_ovh_regions(r, o["regions"], ovh);
    }
    read_opt(o, "backup_region", ovh.backup_region, [&](const YAML::Node& v) {
        return r.matching(v, "provider.ovh.backup_region", k_region_re,
                          "an OVH region name such as SBG5");
    });
    if (inv.provider == ProviderKind::ovh && ovh.project_id.empty()) {
        r.error(o, "provider.ovh: missing required key 'project_id'");
    }
}

void read_provider(Reader& r, const YAML::Node& root, Inventory& inv) {
    const auto& p = root["provider"];
    if (!p || !r.check_map(p, "provider", {"type", "lab", "ovh"})) {
        return;
    }
    read_provider_type(r, p, inv);
    if (p["lab"] && r.check_map(p["lab"], "provider.lab", {"dir"})) {
        read_opt(p["lab"], "dir", inv.lab.dir, [&](const YAML::Node& v) {
            return path_value(r, v, "provider.lab.dir", inv.source_path);
        });
    }
    if (p["ovh"] && r.check_map(p["ovh"], "provider.ovh",
                                {"endpoint", "project_id", "regions", "flavor", "image",
                                 "ssh_public_key_file", "backup_region"})) {
        read_ovh(r, p["ovh"], inv);
    } else if (inv.provider == ProviderKind::ovh && !p["ovh"]) {
        r.error(p, "provider: type ovh needs an 'ovh' section with project_id");
    }
}

// ---- checks across sections, only when the parts they read are valid ----

void check_host_addresses(Reader& r, const Inventory& inv) {
    const auto cidr = parse_cidr(inv.network_cidr);
    for (const auto& h : inv.hosts) {
        if (h.address.empty() && inv.provider != ProviderKind::ovh) {
            r.add(h.line, 1,
                  "host " + h.name + ": missing 'address' (only the ovh provider fills it in)");
        }
        if (auto ip = parse_ipv4(h.address); ip && cidr && !cidr->contains(*ip)) {
            r.add(h.line, 1,
                  "host " + h.name + ": address " + h.address + " is outside network.cidr " +
                      inv.network_cidr);
        }
    }
}

void check_service_counts(Reader& r, const Inventory& inv) {
    const auto pg = inv.hosts_with(Service::postgres).size();
    const auto etcd = inv.hosts_with(Service::etcd).size();
    if (pg < 2) {
        r.add(0, 0,
              "the cluster needs at least 2 hosts with the postgres service (found " +
                  std::to_string(pg) + ")");
    }
    if (etcd < 3 || etcd % 2 == 0) {
        r.add(0, 0,
              "etcd needs an odd number of members, at least 3 (found " + std::to_string(etcd) +
                  "): a quorum must survive one loss");
    }
    if (inv.hosts_with(Service::haproxy).empty()) {
        r.add(0, 0, "at least one host must run the haproxy service");
    }
}

void check_haproxy_ports(Reader& r, const Inventory& inv) {
    const std::set<int> ports{inv.haproxy.write_port, inv.haproxy.read_port,
                              inv.haproxy.stats_port};
    if (ports.size() != 3) {
        r.add(0, 0, "haproxy: write_port, read_port and stats_port must differ");
    }
    const std::set<int> taken{5432, inv.patroni.rest_port, inv.etcd.client_port, inv.etcd.peer_port,
                              22};
    const bool lb_with_other =
        std::any_of(inv.hosts.begin(), inv.hosts.end(), [](const HostSpec& h) {
            return h.runs(Service::haproxy) && (h.runs(Service::postgres) || h.runs(Service::etcd));
        });
    for (int port : ports) {
        if (taken.count(port) && (lb_with_other || port == 22)) {
            r.add(0, 0,
                  "haproxy: port " + std::to_string(port) +
                      " clashes with PostgreSQL, Patroni, etcd or SSH on the same host");
        }
    }
}

// A posix repository lives on an inventory host that is not a PostgreSQL member (it must
// survive the loss of any of them).
void check_backup_host(Reader& r, const Inventory& inv) {
    if (!inv.backup || inv.backup->repo.type != "posix" || inv.backup->repo.host.empty()) {
        return;
    }
    const auto* h = inv.find_host(inv.backup->repo.host);
    if (h == nullptr) {
        r.add(0, 0, "backup.repo.host: no host named '" + inv.backup->repo.host + "'");
    } else if (h->runs(Service::postgres)) {
        r.add(h->line, 1,
              "backup.repo.host: " + h->name +
                  " runs postgres; the repository must be on a host that is not a member");
    }
}

// guard.enabled: a provider that can fence, agents on known hosts, enough of them.
void check_guard(Reader& r, const Inventory& inv) {
    if (!inv.guard.enabled) {
        return;
    }
    if (inv.provider != ProviderKind::ovh) {
        r.add(0, 0,
              "guard.enabled: pgdr-guard fences through the provider's API; it needs "
              "provider.type ovh (on the lab: the OVH twin, `pgdr lab up --ovh`)");
    }
    for (const auto& name : inv.guard.hosts) {
        if (inv.find_host(name) == nullptr) {
            r.add(0, 0, "guard.hosts: '" + name + "' is not an inventory host");
            return;
        }
    }
    const auto hosts = inv.guard_hosts();
    if (static_cast<int>(hosts.size()) < inv.guard.quorum) {
        r.add(0, 0,
              "guard: " + std::to_string(hosts.size()) + " agent host(s) for a quorum of " +
                  std::to_string(inv.guard.quorum) +
                  "; name more in guard.hosts or lower guard.quorum");
    }
}

// ---- dr: the hosts of one region form the standby cluster ----

void read_dr(Reader& r, const YAML::Node& d, Inventory& inv) {
    if (!r.check_map(d, "dr", {"region", "cluster", "slot"})) {
        return;
    }
    DrSection dr;
    dr.line = d.Mark().line + 1;
    if (!d["region"]) {
        r.error(d,
                "dr: missing required key 'region' (the region whose hosts form the DR "
                "cluster)");
    }
    read_opt(d, "region", dr.region, [&](const YAML::Node& v) {
        return r.matching(v, "dr.region", k_region_re, "a region name such as SBG5");
    });
    read_opt(d, "cluster", dr.cluster, [&](const YAML::Node& v) {
        return r.matching(v, "dr.cluster", k_name_re,
                          "lowercase letters, digits and '-', starting with a letter");
    });
    read_opt(d, "slot", dr.slot, [&](const YAML::Node& v) {
        return r.matching(v, "dr.slot", std::regex("^[a-z_][a-z0-9_]{0,62}$"),
                          "a replication slot name (lowercase letters, digits, '_')");
    });
    inv.dr = dr;
}

// Moves the DR region's hosts out of inv.hosts into inv.dr->hosts; checks both clusters.
void split_dr(Reader& r, Inventory& inv) {
    if (!inv.dr) {
        return;
    }
    auto& dr = *inv.dr;
    if (dr.cluster.empty()) {
        dr.cluster = inv.cluster + "-dr";
    }
    if (dr.cluster == inv.cluster) {
        r.add(dr.line, 1, "dr.cluster: must differ from the primary cluster's name");
    }
    std::vector<HostSpec> primary;
    for (auto& h : inv.hosts) {
        (h.region == dr.region ? dr.hosts : primary).push_back(h);
    }
    if (dr.hosts.empty()) {
        r.add(dr.line, 1, "dr.region: no host is in region '" + dr.region + "'");
        return;
    }
    inv.hosts = std::move(primary);
    auto count = [&](Service s) {
        return std::count_if(dr.hosts.begin(), dr.hosts.end(),
                             [&](const HostSpec& h) { return h.runs(s); });
    };
    const auto etcd = count(Service::etcd);
    if (count(Service::postgres) < 1 || count(Service::haproxy) < 1 || etcd % 2 == 0) {
        r.add(dr.line, 1,
              "dr: the hosts of region " + dr.region +
                  " need at least one postgres and one haproxy service and an odd number of "
                  "etcd members (found " +
                  std::to_string(count(Service::postgres)) + " postgres, " +
                  std::to_string(count(Service::haproxy)) + " haproxy, " + std::to_string(etcd) +
                  " etcd)");
    }
    if (inv.provider == ProviderKind::ovh) {
        r.add(dr.line, 1,
              "dr: a DR cluster is built on the lab for now (`pgdr lab up --regions 2`); "
              "provisioning it on OVH is not supported yet");
    }
}

void check_across_sections(Reader& r, Inventory& inv) {
    check_host_addresses(r, inv);
    split_dr(r, inv);
    check_guard(r, inv);
    check_backup_host(r, inv);
    check_service_counts(r, inv);
    check_haproxy_ports(r, inv);
    if (inv.provider == ProviderKind::ovh && inv.ovh.regions.empty()) {
        r.add(0, 0, "provider.ovh: list at least one region in 'regions'");
    }
}

// ---- the document ----

// The YAML root, a mapping with known keys; throws InventoryError when it is not.
YAML::Node load_root(Reader& r, const std::string& text) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::DeepRecursion& e) {
        // yaml-cpp reports its nesting limit as "bad file"; say what it means.
        r.error_at(e.mark, "not valid YAML: nested " + std::to_string(e.depth()) +
                               " levels deep, more than the parser accepts");
        throw InventoryError(r.diagnostics());
    } catch (const YAML::ParserException& e) {
        r.error_at(e.mark, "not valid YAML: " + e.msg);
        throw InventoryError(r.diagnostics());
    }
    if (!root.IsDefined() || root.IsNull()) {
        r.add(0, 0, "the inventory is empty (see pgdr-inventory(5) and inventories/)");
        throw InventoryError(r.diagnostics());
    }
    if (!r.check_map(root, "inventory",
                     {"cluster", "production", "release", "postgres_version", "network", "ssh",
                      "hosts", "patroni", "haproxy", "etcd", "monitoring", "backup", "guard", "dr",
                      "paths", "provider"})) {
        throw InventoryError(r.diagnostics());
    }
    return root;
}

// Throws every diagnostic, in file order as an editor lists them; whole-file problems (line 0)
// last.
void throw_if_any(Reader& r) {
    auto& diags = r.diagnostics();
    if (diags.empty()) {
        return;
    }
    auto key = [](const Diagnostic& d) {
        return std::make_pair(d.line == 0 ? INT_MAX : d.line, d.column);
    };
    std::stable_sort(diags.begin(), diags.end(),
                     [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
    throw InventoryError(diags);
}

}  // namespace

// One reader per section, in the order the sections depend on each other: hosts are checked
// against the network, the timing profile sets HAProxy's checks before its own values, the
// provider decides whether addresses are required.
Inventory parse_inventory(const std::string& text, const std::string& file_name) {
    Reader r(file_name.empty() ? "<inventory>" : file_name);
    Inventory inv;
    inv.source_path = file_name;
    const YAML::Node root = load_root(r, text);
    read_top_level(r, root, inv);
    read_network(r, root, inv);
    read_ssh_and_hosts(r, root, inv);
    read_patroni(r, root, inv);
    read_haproxy(r, root, inv);
    read_etcd(r, root, inv);
    if (root["monitoring"]) {
        read_monitoring(r, root["monitoring"], inv.monitoring);
    }
    if (root["backup"]) {
        read_backup(r, root["backup"], inv);
    }
    if (root["guard"]) {
        read_guard(r, root["guard"], inv);
    }
    if (root["dr"]) {
        read_dr(r, root["dr"], inv);
    }
    read_paths(r, root, inv);
    read_provider(r, root, inv);
    if (r.diagnostics().empty()) {
        check_across_sections(r, inv);
    }
    throw_if_any(r);
    return inv;
}

Inventory dr_inventory(const Inventory& primary) {
    if (!primary.dr) {
        throw config_error("the inventory has no dr section: no DR cluster",
                           "add `dr: {region: ...}` naming the region of the DR hosts "
                           "(pgdr-inventory(5))");
    }
    Inventory dr = primary;
    dr.cluster = primary.dr->cluster;
    dr.hosts = primary.dr->hosts;
    StandbyOf of;
    of.cluster = primary.cluster;
    of.slot = primary.dr->slot;
    for (const auto* h : primary.hosts_with(Service::postgres)) {
        of.addresses.push_back(h->address);
    }
    if (primary.backup && primary.backup->repo.type == "s3") {
        of.archive = primary.backup;
    }
    dr.standby_of = of;
    dr.dr.reset();
    dr.patroni.synchronous_mode = false;
    dr.patroni.synchronous_mode_strict = false;
    dr.guard = GuardSection{};
    dr.backup.reset();
    return dr;
}

Inventory swap_dr_roles(const Inventory& pair) {
    if (!pair.dr) {
        throw config_error("the inventory has no dr section: no roles to swap");
    }
    Inventory out = pair;
    out.cluster = pair.dr->cluster;
    out.hosts = pair.dr->hosts;
    out.dr->cluster = pair.cluster;
    out.dr->hosts = pair.hosts;
    out.dr->region = pair.hosts.empty() ? "" : pair.hosts.front().region;
    out.guard = GuardSection{};
    return out;
}

Inventory load_inventory(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw InventoryError({Diagnostic{
            path, 0, 0, "cannot read the inventory: " + std::string(std::strerror(errno))}});
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (text.size() > 4 * 1024 * 1024) {
        throw InventoryError({Diagnostic{path, 0, 0, "the inventory is larger than 4 MiB"}});
    }
    return parse_inventory(text, path);
}

}  // namespace pgdr
