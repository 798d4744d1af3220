// The inventory's pgBackRest repository host (backup.repo.type posix, issue 14): the one
// inventory host that holds the repository and runs backups, expire and the stanza's commands.
#pragma once

#include "core/inventory.hpp"

namespace pgdr {

// pgBackRest's TLS server (`pgbackrest server`) on the members and the repository host.
inline constexpr int k_pgbackrest_tls_port = 8432;

// The repository host; nullptr without a backup section, with an S3 repository, or when
// backup.repo.host names no host (the inventory refuses that).
inline const HostSpec* backup_repo_host(const Inventory& inv) {
    if (!inv.backup || inv.backup->repo.type != "posix") {
        return nullptr;
    }
    return inv.find_host(inv.backup->repo.host);
}

// The repository this cluster's members use: its own backup section, or on a DR cluster the
// primary's S3 repository it reads (standby_of->archive, archive-get only); nullptr for none.
inline const BackupSettings* members_repository(const Inventory& inv) {
    if (inv.backup) {
        return &*inv.backup;
    }
    return inv.standby_of && inv.standby_of->archive ? &*inv.standby_of->archive : nullptr;
}
// A DR cluster whose members only read the primary's archive (no backup section of its own).
inline bool reads_primary_archive(const Inventory& inv) {
    return !inv.backup && members_repository(inv) != nullptr;
}

inline bool is_backup_repo_host(const Inventory& inv, const std::string& host) {
    const HostSpec* r = backup_repo_host(inv);
    return r != nullptr && r->name == host;
}

}  // namespace pgdr
