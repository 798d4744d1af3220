#include "pg/postgres_conf.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/error.hpp"
#include "pg/debian_paths.hpp"
#include "pg/pgbackrest_conf.hpp"
#include "pg/pgpass.hpp"
#include "pg/tls.hpp"

namespace pgdr::pg {

namespace {

std::string header(const Inventory& inv) {
    return "# Managed by pgdr (cluster " + inv.cluster +
           "): `pgdr bootstrap` rewrites this file.\n";
}

// A conninfo value: bare when it is a plain word, else single-quoted with \ escapes (libpq).
std::string conninfo_value(const std::string& value) {
    bool plain = !value.empty();
    for (char c : value) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
              c == '/' || c == ':')) {
            plain = false;
        }
    }
    if (plain) {
        return value;
    }
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "'";
}

const HostSpec& require_address(const HostSpec& host) {
    if (host.address.empty()) {
        throw config_error("host " + host.name + " has no address yet",
                           "run `pgdr provision` first, or set its address in the inventory");
    }
    return host;
}

}  // namespace

std::string conf_quote(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\n' || c == '\r' || c == '\0') {
            throw config_error("a postgresql.conf value holds a line break or NUL");
        }
        if (c == '\'' || c == '\\') {
            out += c;
        }
        out += c;
    }
    return out + "'";
}

std::vector<Parameter> replication_parameters(const Inventory& inv) {
    // Room for a walsender and a slot per member, plus pg_basebackup and pg_rewind runs; never
    // below Debian's usual 10.
    const auto members = inv.hosts_with(Service::postgres).size();
    const std::string senders = std::to_string(std::max<std::size_t>(10, 2 * members + 2));
    const std::string& dir = inv.paths.archive_dir;
    return {
        {"wal_level", "replica", false},
        {"max_wal_senders", senders, true},
        {"max_replication_slots", senders, true},
        // Slots hold WAL for a replica that is down; this is the margin for one without a slot
        // (pg_basebackup before its slot exists, a member re-cloning).
        {"wal_keep_size", "1GB", false},
        {"hot_standby", "on", false},
        // pg_rewind (use_pg_rewind) needs hint bits in WAL unless checksums are on; Patroni
        // would set it too, but only with a restart after adoption: set it before.
        {"wal_log_hints", "on", false},
        {"archive_mode", "on", false},
        // With a backup section, pgBackRest archives (the local cp archive and its pruning
        // otherwise).
        {"archive_command", inv.backup ? pgbackrest_archive_command(inv) : archive_command(dir),
         false},
        {"password_encryption", "scram-sha-256", false},
    };
}

std::string archive_command(const std::string& dir) {
    // As the seed, into a local directory, but never overwriting a segment already archived
    // (a second primary after a split brain must not clobber the first one's WAL). Then the
    // bound: WAL file names sort by timeline and position, so all but the newest
    // k_archive_keep_segments segment files go. A failed prune never fails the archiving
    // (PostgreSQL would keep the WAL in pg_wal instead): only the copy decides the status.
    // dir is an absolute path of [A-Za-z0-9/._-] (inventory check): safe in sed and the shell.
    return "test ! -f " + dir + "/%f && cp %p " + dir + "/%f && { ls -1 " + dir +
           " | grep -xE \"[0-9A-F]{24}\" | sort | head -n -" +
           std::to_string(k_archive_keep_segments) + " | sed \"s|^|" + dir +
           "/|\" | xargs -r rm -f --; true; }";
}

std::vector<Parameter> ssl_parameters() {
    const auto& tls = tls_paths();
    return {{"ssl", "on", false},
            {"ssl_cert_file", tls.postgres_cert, false},
            {"ssl_key_file", tls.postgres_key, false},
            {"ssl_ca_file", tls.ca, false},
            {"ssl_min_protocol_version", "TLSv1.2", false}};
}

std::string render_postgres_include(const Inventory& inv, const HostSpec& host) {
    require_address(host);
    std::string out = header(inv);
    out += "# Replication settings; Patroni carries the same values in its configuration.\n";
    out += "listen_addresses = " + conf_quote(host.address + ",localhost") + "\n";
    for (const auto& p : replication_parameters(inv)) {
        out += p.name + " = " + (p.number ? p.value : conf_quote(p.value)) + "\n";
    }
    for (const auto& p : ssl_parameters()) {
        out += p.name + " = " + conf_quote(p.value) + "\n";
    }
    return out;
}

std::vector<std::string> hba_rules(const Inventory& inv) {
    if (inv.network_cidr.empty()) {
        throw config_error("the inventory has no network.cidr");
    }
    auto line = [](const std::string& type, const std::string& db, const std::string& user,
                   const std::string& address, const std::string& method) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "%-7s %-12s %-12s %-18s %s", type.c_str(), db.c_str(),
                      user.c_str(), address.c_str(), method.c_str());
        std::string s(buf);
        s.erase(s.find_last_not_of(' ') + 1);
        return s;
    };
    const std::string scram = "scram-sha-256";
    const std::string repl = k_replication_user;
    const std::string su = k_superuser;
    std::vector<std::string> members;
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        require_address(*h);
        members.push_back(h->address +
                          (h->address.find(':') == std::string::npos ? "/32" : "/128"));
    }
    std::vector<std::string> out{
        line("local", "all", "all", "", "peer"),
        line("host", "all", "all", "127.0.0.1/32", scram),
        line("host", "all", "all", "::1/128", scram),
        line("local", "replication", "all", "", "peer"),
        line("host", "replication", repl, "127.0.0.1/32", scram),
        // Patroni 3.0.2 reads the local timeline over a replication connection to localhost,
        // which resolves to ::1; without this line every replica fails its health comparison
        // in the leader race (a TypeError in ha.py) and the cluster stays leaderless.
        line("host", "replication", repl, "::1/128", scram),
    };
    for (const auto& m : members) {
        out.push_back(line("hostssl", "replication", repl, m, scram));
    }
    // A pair of clusters: the DR cluster's members stream from this one (its standby leader,
    // and whichever member becomes it), and the primary's members will stream from the DR
    // cluster once it is promoted and the old primary rebuilt as its standby.
    std::vector<std::string> peers;
    if (inv.dr) {
        for (const auto& h : inv.dr->hosts) {
            if (h.runs(Service::postgres)) {
                require_address(h);
                peers.push_back(h.address);
            }
        }
    }
    if (inv.standby_of) {
        peers.insert(peers.end(), inv.standby_of->addresses.begin(),
                     inv.standby_of->addresses.end());
    }
    for (const auto& p : peers) {
        out.push_back(line("hostssl", "replication", repl,
                           p + (p.find(':') == std::string::npos ? "/32" : "/128"), scram));
    }
    for (const auto& m : members) {
        out.push_back(line("hostssl", "all", su, m, scram));
    }
    out.push_back(line("host", "all", su, "all", "reject"));
    out.push_back(line("hostssl", "all", "all", inv.network_cidr, scram));
    return out;
}

std::string render_pg_hba(const Inventory& inv) {
    std::string out = header(inv);
    out +=
        "# Local connections by peer identity; every network connection with scram-sha-256, from\n"
        "# this host, or over TLS from the cluster's subnet (replication and the superuser from "
        "the\n"
        "# members only).\n";
    out += "# TYPE  DATABASE     USER         ADDRESS            METHOD\n";
    for (const auto& l : hba_rules(inv)) {
        out += l + "\n";
    }
    return out;
}

std::string render_start_conf(const Inventory& inv) {
    const auto paths = debian_paths(inv);
    return header(inv) + "# " + paths.patroni_unit + " starts and stops this cluster; " +
           paths.postgres_unit + " must not.\nmanual\n";
}

std::string slot_name(const std::string& member_name) {
    std::string out;
    for (unsigned char c : member_name) {
        char lower = static_cast<char>(std::tolower(c));
        if ((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') || lower == '_') {
            out += lower;
        } else if (c == '-' || c == '.') {
            out += '_';
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "u%04d", static_cast<int>(c));
            out += buf;
        }
    }
    return out.substr(0, 63);
}

std::string primary_conninfo(const Inventory& inv, const HostSpec& primary,
                             const HostSpec& replica) {
    require_address(primary);
    const auto paths = debian_paths(inv);
    return "host=" + conninfo_value(primary.address) + " port=" + std::to_string(k_postgres_port) +
           " user=" + k_replication_user +
           " passfile=" + conninfo_value(paths.replication_passfile) +
           " application_name=" + conninfo_value(replica.name) +
           " sslmode=verify-full sslrootcert=" + conninfo_value(tls_paths().ca);
}

std::string standby_leader_conninfo(const Inventory& inv, const HostSpec& standby_leader) {
    const auto& of = *inv.standby_of;
    std::string hosts;
    for (const auto& a : of.addresses) {
        hosts += (hosts.empty() ? "" : ",") + a;
    }
    const auto paths = debian_paths(inv);
    return "host=" + conninfo_value(hosts) + " port=" + std::to_string(of.port) +
           " user=" + k_replication_user +
           " passfile=" + conninfo_value(paths.replication_passfile) +
           " application_name=" + conninfo_value(standby_leader.name) +
           " target_session_attrs=read-write sslmode=verify-full sslrootcert=" +
           conninfo_value(tls_paths().ca);
}

std::string render_standby_conf(const Inventory& inv, const HostSpec& primary,
                                const HostSpec& replica) {
    if (inv.standby_of && replica.name == primary.name) {
        std::string out = header(inv);
        out += "# The DR cluster's first member streams from the writable member of " +
               inv.standby_of->cluster + " until Patroni takes over as its standby leader.\n";
        out += "primary_conninfo = " + conf_quote(standby_leader_conninfo(inv, replica)) + "\n";
        out += "primary_slot_name = " + conf_quote(inv.standby_of->slot) + "\n";
        return out;
    }
    std::string out = header(inv);
    out += "# Streaming from " + primary.name +
           " until Patroni takes over (it then writes these settings itself).\n";
    out += "primary_conninfo = " + conf_quote(primary_conninfo(inv, primary, replica)) + "\n";
    out += "primary_slot_name = " + conf_quote(slot_name(replica.name)) + "\n";
    return out;
}

std::string render_replication_passfile(const Inventory& inv, const Secrets& secrets) {
    std::vector<PgpassEntry> entries;
    for (const auto* h : inv.hosts_with(Service::postgres)) {
        require_address(*h);
        entries.push_back({h->address, std::to_string(k_postgres_port), "replication",
                           k_replication_user, secrets.replication_password});
    }
    if (inv.standby_of) {
        // A DR cluster's standby leader streams from the primary cluster's members.
        for (const auto& a : inv.standby_of->addresses) {
            entries.push_back({a, std::to_string(inv.standby_of->port), "replication",
                               k_replication_user, secrets.replication_password});
        }
    }
    return render_pgpass(entries);
}

}  // namespace pgdr::pg
