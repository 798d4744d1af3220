#include "lab/image.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/strings.hpp"
#include "lab/layout.hpp"

namespace pgdr::lab {

namespace fs = std::filesystem;

namespace {

// Bumped whenever a build step below changes in a way the package lists do not show.
constexpr int k_recipe_version = 2;

void must(Transport& local, const std::vector<std::string>& argv, const std::string& step,
          std::chrono::seconds timeout = std::chrono::seconds(900)) {
    RunOptions o;
    o.timeout = timeout;
    auto r = local.run(argv, o);
    if (!r.ok()) {
        std::string tail = r.err.size() > 2000 ? r.err.substr(r.err.size() - 2000) : r.err;
        if (tail.empty()) {
            tail = r.out.size() > 2000 ? r.out.substr(r.out.size() - 2000) : r.out;
        }
        throw Error(
            ExitCode::internal,
            "lab image: " + step + " failed" +
                (r.timed_out ? " (timed out)" : " (exit " + std::to_string(r.exit_status) + ")") +
                ":\n" + tail,
            "check the network access to Debian's archive through the lab's apt proxy "
            "(127.0.0.1:3142), then run `pgdr lab up` again");
    }
}

}  // namespace

ImageRecipe recipe_for(const std::string& release) {
    ImageRecipe r;
    r.release = release;
    r.base_packages = {"systemd",  "systemd-sysv", "dbus",   "openssh-server",  "iproute2",
                       "procps",   "sudo",         "less",   "ca-certificates", "netbase",
                       "nftables", "iputils-ping", "python3"};
    if (release == "trixie") {
        r.postgres_version = 17;
    } else if (release == "bookworm") {
        r.postgres_version = 15;
    } else {
        throw usage_error("the lab supports Debian trixie (13) and bookworm (12), not '" + release +
                          "'");
    }
    const std::string v = std::to_string(r.postgres_version);
    // python3-etcd by name: with --no-install-recommends apt satisfies Patroni's DCS
    // alternative with python3-consul on trixie, and Patroni's etcd3 module imports etcd.
    r.cluster_packages = {"postgresql-" + v,  "postgresql-client-" + v,
                          "patroni",          "python3-etcd",
                          "python3-psycopg2", "etcd-server",
                          "etcd-client",      "haproxy"};
    return r;
}

std::string ImageRecipe::text() const {
    return "pgdr-lab-image v" + std::to_string(k_recipe_version) + "\nrelease " + release +
           "\nbase " + join(base_packages, ",") + "\ncluster " + join(cluster_packages, ",") + "\n";
}

std::string ImageRecipe::hash() const {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : text()) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

std::string ImageRecipe::path() const {
    return std::string(k_cache_root) + "/images/" + release + "-" + hash();
}

std::vector<std::string> cached_images() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(std::string(k_cache_root) + "/images", ec)) {
        out.push_back(e.path().string());
    }
    return out;
}

namespace {

const char* const k_mirror = "http://deb.debian.org/debian";

// APT sources, the lab's proxy, hosts and resolver, and no service starting during the build.
void write_build_files(const ImageRecipe& recipe, const std::string& tmp) {
    const std::string mirror = k_mirror;
    // debootstrap writes only "<release> main"; updates and security carry the fixes.
    const std::string& rel = recipe.release;
    write_file_atomic(tmp + "/etc/apt/sources.list",
                      "deb " + mirror + " " + rel + " main\n" + "deb " + mirror + " " + rel +
                          "-updates main\n" + "deb http://deb.debian.org/debian-security " + rel +
                          "-security main\n");
    // Lab hosts have no route out; apt goes through the proxy on the lab bridge.
    write_file_atomic(tmp + "/etc/apt/apt.conf.d/01pgdr-lab-proxy",
                      "Acquire::http::Proxy \"http://" + std::string(k_gateway) + ":" +
                          std::to_string(k_proxy_port) + "\";\n");
    write_file_atomic(tmp + "/etc/hosts", "127.0.0.1 localhost\n::1 localhost ip6-localhost\n");
    write_file_atomic(tmp + "/etc/resolv.conf", "options timeout:1 attempts:1\n");
    // No service may start inside the build container; removed again below.
    write_file_atomic(tmp + "/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0755);
}

// A oneshot unit that creates PostgreSQL <v>/main on the host's first boot, as the Debian
// package does on install.
void write_firstboot_unit(const std::string& tmp, const std::string& v) {
    write_file_atomic(tmp + "/etc/systemd/system/pgdr-lab-firstboot.service",
                      "[Unit]\nDescription=pgdr lab: create PostgreSQL " + v +
                          "/main as the Debian package does on install\n"
                          "ConditionPathExists=!/etc/postgresql/" +
                          v +
                          "/main\n\n[Service]\nType=oneshot\n"
                          "ExecStart=/usr/bin/pg_createcluster " +
                          v +
                          " main\n"
                          "ExecStartPost=/bin/systemctl start postgresql@" +
                          v + "-main\n\n[Install]\nWantedBy=multi-user.target\n");
}

// The cluster packages installed in a container of the image (not booted, in a cgroup of its
// own, removed afterwards); the package's cluster is dropped for a first-boot unit.
void install_packages(const ImageRecipe& recipe, Transport& local, const std::string& tmp,
                      const std::string& proxy) {
    // A non-booted nspawn leaves payload/supervisor cgroups in the caller's cgroup; running it
    // in a cgroup of its own lets pgdr remove them afterwards.
    static const std::string k_in_cgroup =
        "IFS=:; for d in $1; do mkdir -p \"$d\" && echo $$ > \"$d/cgroup.procs\" || exit 1; "
        "done; unset IFS; shift; exec \"$@\"";
    const auto cg = cgroup_dirs("build");
    auto in_image = [&](std::vector<std::string> command) {
        std::vector<std::string> argv{"sh",
                                      "-c",
                                      k_in_cgroup,
                                      "pgdr-in-cgroup",
                                      join_cgroup_dirs(cg),
                                      "systemd-nspawn",
                                      "-q",
                                      "-D",
                                      tmp,
                                      "--register=no",
                                      "--keep-unit",
                                      "--resolv-conf=off",
                                      "--timezone=off",
                                      "-E",
                                      "DEBIAN_FRONTEND=noninteractive"};
        argv.insert(argv.end(), command.begin(), command.end());
        return argv;
    };
    // The build container shares this machine's network, so apt reaches the proxy on loopback.
    const std::string apt_proxy = "Acquire::http::Proxy=" + proxy;
    must(local, in_image({"apt-get", "-o", apt_proxy, "update", "-q"}), "apt-get update");
    std::vector<std::string> install{
        "apt-get", "-o", apt_proxy, "install", "-y", "-q", "--no-install-recommends"};
    install.insert(install.end(), recipe.cluster_packages.begin(), recipe.cluster_packages.end());
    must(local, in_image(install), "package installation");
    must(local, in_image({"apt-get", "clean"}), "apt-get clean");
    // The package created its cluster inside the image, so every host would share one system
    // identifier, unlike VMs that each ran `apt install`. The image ships without it and each
    // host creates its own on first boot, as the package does on a VM.
    const std::string v = std::to_string(recipe.postgres_version);
    must(local, in_image({"pg_dropcluster", v, "main"}), "dropping the image's cluster");
    write_firstboot_unit(tmp, v);
    for (const auto& d : cg) {
        local.run({"find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"}, RunOptions{});
    }
}

// Units enabled and masked, sshd's settings, and no per-host identity left in the image.
void finish_image(Transport& local, const std::string& tmp) {
    fs::remove(tmp + "/usr/sbin/policy-rc.d");
    must(local, {"systemctl", "--root=" + tmp, "enable", "systemd-networkd"}, "enable networkd");
    must(local, {"systemctl", "--root=" + tmp, "enable", "pgdr-lab-firstboot.service"},
         "enable the first-boot cluster creation");
    // Nothing in the stack needs network-online.target; systemd-networkd-wait-online stalls
    // boot by about 13 s in a container.
    must(local, {"systemctl", "--root=" + tmp, "mask", "systemd-networkd-wait-online.service"},
         "mask wait-online");
    write_file_atomic(tmp + "/etc/ssh/sshd_config.d/pgdr-lab.conf",
                      "# pgdr lab: key-only root login, no DNS lookups of clients\n"
                      "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n");
    // Per-host identity is added at first boot of each host: machine-id and SSH host keys.
    write_file_atomic(tmp + "/etc/machine-id", "");
    must(local, {"sh", "-c", "rm -f \"$1\"/etc/ssh/ssh_host_*", "pgdr-image", tmp},
         "removing build host keys");
}

}  // namespace

std::string ensure_image(const ImageRecipe& recipe, Transport& local, const Progress& progress) {
    const std::string final_path = recipe.path();
    if (fs::exists(final_path + "/.pgdr-image-complete")) {
        return final_path;
    }
    ensure_directory(std::string(k_cache_root) + "/images", 0755);
    const std::string tmp = final_path + ".building-" + std::to_string(::getpid());
    must(local, {"rm", "-rf", "--", tmp}, "removing an old partial build");
    const std::string proxy = "http://127.0.0.1:" + std::to_string(k_proxy_port);

    progress("debootstrap " + recipe.release + " (about 30-40 s)");
    must(local,
         {"env", "http_proxy=" + proxy, "debootstrap", "--variant=minbase",
          "--include=" + join(recipe.base_packages, ","), recipe.release, tmp, k_mirror},
         "debootstrap");
    write_build_files(recipe, tmp);

    progress("installing PostgreSQL " + std::to_string(recipe.postgres_version) +
             ", Patroni, etcd and HAProxy into the image (about 20 s)");
    install_packages(recipe, local, tmp, proxy);

    progress("finishing the image");
    finish_image(local, tmp);
    write_file_atomic(tmp + "/.pgdr-image-complete", recipe.text());
    fs::rename(tmp, final_path);
    return final_path;
}

}  // namespace pgdr::lab
