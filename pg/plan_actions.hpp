// Building blocks of the bootstrap plan's actions, shared by its stages (bootstrap_plan.cpp,
// stage_files.cpp, stage_backup.cpp, stage_monitoring.cpp, cert_rotation.cpp) and the restore
// scratch host's files (restore_scratch.cpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/plan.hpp"

namespace pgdr::pg {

// A command with its description, an optional read-only `unless` check, and a timeout.
inline RunCommand plan_command(std::vector<std::string> argv, std::string description,
                               std::optional<std::vector<std::string>> unless = std::nullopt,
                               std::chrono::seconds timeout = std::chrono::seconds(120)) {
    RunCommand c;
    c.argv = std::move(argv);
    c.description = std::move(description);
    c.unless = std::move(unless);
    c.timeout = timeout;
    return c;
}

// A file to write, with its mode, owner ("" = root), description and secrecy.
inline PutFile plan_file(std::string path, std::string content, std::string mode, std::string owner,
                         std::string description, Secrecy secrecy = Secrecy::none) {
    PutFile f;
    f.path = std::move(path);
    f.content = std::move(content);
    f.spec.mode = std::move(mode);
    f.spec.owner = std::move(owner);
    f.description = std::move(description);
    f.secrecy = secrecy;
    return f;
}

// Waits until `probe` exits 0, as root unless told otherwise (certificate keys are 0600).
inline WaitFor plan_wait(std::vector<std::string> probe, std::string description,
                         std::chrono::seconds timeout, bool sudo = true) {
    WaitFor w;
    w.probe = std::move(probe);
    w.description = std::move(description);
    w.timeout = timeout;
    w.sudo = sudo;
    return w;
}

// Succeeds when every package is installed (dpkg-query): the `unless` of an installation.
inline std::vector<std::string> packages_installed(const std::vector<std::string>& packages) {
    std::vector<std::string> check{"sh", "-c",
                                   "for p; do dpkg-query -W -f='${Status}' \"$p\" 2>/dev/null | "
                                   "grep -q 'ok installed' || exit 1; done",
                                   "pgdr-installed"};
    check.insert(check.end(), packages.begin(), packages.end());
    return check;
}

}  // namespace pgdr::pg
