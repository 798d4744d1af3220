// The state directory: secrets (0600 in 0700 directories, reused), state.json round trip,
// and filling inventory addresses from the state. Also write_file_atomic.
#include "core/state.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>

#include "core/error.hpp"
#include "core/files.hpp"
#include "unit/core/temp_dir.hpp"

using pgdr::test::TempDir;

namespace {

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

const std::string k_alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

}  // namespace

TEST_CASE("state: ensure_secret creates a private secret once and reuses it", "[state]") {
    TempDir tmp;
    const std::string state_dir = tmp.path() + "/clusters/lab.state";
    CHECK_FALSE(pgdr::read_secret(state_dir, "replication-password"));

    const auto secret = pgdr::ensure_secret(state_dir, "replication-password");
    CHECK(secret.size() == 32);
    CHECK(secret.find_first_not_of(k_alphabet) == std::string::npos);
    CHECK(mode_of(state_dir) == 0700);
    CHECK(mode_of(state_dir + "/secrets") == 0700);
    CHECK(mode_of(state_dir + "/secrets/replication-password") == 0600);
    CHECK(pgdr::read_text_file(state_dir + "/secrets/replication-password") == secret + "\n");

    // Second call: the same secret, file untouched.
    CHECK(pgdr::ensure_secret(state_dir, "replication-password") == secret);
    CHECK(pgdr::read_secret(state_dir, "replication-password") == secret);

    // Another name: another secret.
    const auto other = pgdr::ensure_secret(state_dir, "superuser-password");
    CHECK(other != secret);
    CHECK(other.size() == 32);

    // Nothing but the secrets in the directory (no temporary files left).
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(state_dir + "/secrets")) {
        names.insert(e.path().filename().string());
    }
    CHECK(names == std::set<std::string>{"replication-password", "superuser-password"});
}

TEST_CASE("state: secrets are random and use the whole alphabet", "[state]") {
    TempDir tmp;
    std::set<std::string> seen;
    std::set<char> chars;
    for (int i = 0; i < 40; ++i) {
        auto s = pgdr::ensure_secret(tmp.path(), "s" + std::to_string(i));
        seen.insert(s);
        chars.insert(s.begin(), s.end());
    }
    CHECK(seen.size() == 40);
    // 1280 characters drawn from 57: every one of them shows up (missing one is ~1e-8).
    CHECK(chars.size() == k_alphabet.size());
}

TEST_CASE("state: secret names cannot escape the secrets directory", "[state]") {
    TempDir tmp;
    for (const char* bad : {"../state.json", "a/b", "", "-rf", "UPPER", "a b", ".hidden"}) {
        INFO(bad);
        CHECK_THROWS_AS(pgdr::ensure_secret(tmp.path(), bad), pgdr::Error);
        CHECK_THROWS_AS(pgdr::read_secret(tmp.path(), bad), pgdr::Error);
    }
}

TEST_CASE("state: save_state and load_state round trip", "[state]") {
    TempDir tmp;
    const std::string dir = tmp.path() + "/s";
    CHECK(pgdr::load_state(dir).hosts.empty());

    pgdr::ClusterState st;
    st.hosts["pg1"] = {"10.0.0.11", "203.0.113.11", "inst-1", "GRA11"};
    st.hosts["pg2"] = {"10.0.0.12", "", "inst-2", "SBG5"};
    st.provider = {{"network_id", "net-42"}, {"subnet", {{"cidr", "10.0.0.0/24"}}}};
    pgdr::save_state(dir, st);
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(dir + "/state.json") == 0600);

    auto back = pgdr::load_state(dir);
    REQUIRE(back.hosts.size() == 2);
    CHECK(back.hosts["pg1"].address == "10.0.0.11");
    CHECK(back.hosts["pg1"].public_address == "203.0.113.11");
    CHECK(back.hosts["pg1"].instance_id == "inst-1");
    CHECK(back.hosts["pg1"].region == "GRA11");
    CHECK(back.hosts["pg2"].public_address.empty());
    CHECK(back.provider == st.provider);

    // Saving again replaces the file.
    st.hosts.erase("pg2");
    pgdr::save_state(dir, st);
    CHECK(pgdr::load_state(dir).hosts.size() == 1);
}

TEST_CASE("state: a corrupt state file is a configuration error, not a crash", "[state]") {
    TempDir tmp;
    pgdr::write_file_atomic(tmp.path() + "/state.json", "{\"hosts\": {\"pg1\": ", 0600);
    try {
        pgdr::load_state(tmp.path());
        FAIL("loaded a truncated state file");
    } catch (const pgdr::Error& e) {
        CHECK(e.code() == pgdr::ExitCode::invalid_config);
        CHECK(std::string(e.what()).find("state.json is not valid JSON") != std::string::npos);
    }
    // Valid JSON of the wrong shape: also exit 3 with the file named.
    for (const char* wrong :
         {R"({"hosts": {"pg1": {"address": 42}}})", R"({"hosts": {"pg1": 7}})", R"([1, 2])"}) {
        INFO(wrong);
        pgdr::write_file_atomic(tmp.path() + "/state.json", wrong, 0600);
        try {
            pgdr::load_state(tmp.path());
            FAIL("loaded a state file of the wrong shape");
        } catch (const pgdr::Error& e) {
            CHECK(e.code() == pgdr::ExitCode::invalid_config);
            CHECK(std::string(e.what()).find(tmp.path() + "/state.json") != std::string::npos);
        }
    }
}

TEST_CASE("state: apply_state fills only the missing addresses", "[state]") {
    auto inv = pgdr::parse_inventory(R"(cluster: shop
network: {cidr: 10.0.0.0/24}
hosts:
  - {name: pg1, services: [postgres, etcd]}
  - {name: pg2, services: [postgres, etcd]}
  - {name: pg3, address: 10.0.0.13, services: [postgres, etcd, haproxy]}
provider: {type: ovh, ovh: {project_id: abc, regions: [GRA11]}}
)",
                                     "shop.yaml");
    pgdr::ClusterState st;
    st.hosts["pg1"].address = "10.0.0.11";
    st.hosts["pg3"].address = "10.0.0.99";  // the inventory's own address wins
    auto missing = pgdr::apply_state(inv, st);
    CHECK(missing == std::vector<std::string>{"pg2"});
    CHECK(inv.hosts[0].address == "10.0.0.11");
    CHECK(inv.hosts[1].address.empty());
    CHECK(inv.hosts[2].address == "10.0.0.13");
}

TEST_CASE("state: SSH goes to the public address provisioning recorded", "[state]") {
    auto inv = pgdr::parse_inventory(R"(cluster: shop
network: {cidr: 10.0.0.0/24}
hosts:
  - {name: pg1, services: [postgres, etcd]}
  - {name: pg2, services: [postgres, etcd], ssh: {address: bastion-side.example.net}}
  - {name: pg3, services: [postgres, etcd, haproxy]}
provider: {type: ovh, ovh: {project_id: abc, regions: [GRA11]}}
)",
                                     "shop.yaml");
    pgdr::ClusterState st;
    st.hosts["pg1"].address = "10.0.0.11";
    st.hosts["pg1"].public_address = "198.19.0.11";
    st.hosts["pg2"].address = "10.0.0.12";
    st.hosts["pg2"].public_address = "198.19.0.12";
    st.hosts["pg3"].address = "10.0.0.13";
    st.hosts["pg3"].public_address = "10.0.0.13";  // no public address
    CHECK(pgdr::apply_state(inv, st).empty());
    CHECK(inv.hosts[0].address == "10.0.0.11");
    CHECK(inv.hosts[0].ssh_address() == "198.19.0.11");
    CHECK(inv.hosts[1].ssh_address() == "bastion-side.example.net");  // the inventory wins
    CHECK(inv.hosts[2].ssh_address() == "10.0.0.13");
    // The ovh provider forwards cluster ports over SSH by default: its security group closes
    // them to the operator's machine.
    CHECK(inv.port_access() == pgdr::PortAccess::ssh);
}

TEST_CASE("state: state.json records its cluster and project; another inventory is refused",
          "[state][identity]") {
    // Issue 13 items 2 and 7: two inventories sharing a state directory, or a state directory
    // copied from another project, must not act on each other's hosts.
    TempDir tmp;
    auto inv = pgdr::parse_inventory(R"(cluster: shop
network: {cidr: 10.0.0.0/24}
hosts:
  - {name: pg1, services: [postgres, etcd]}
  - {name: pg2, services: [postgres, etcd]}
  - {name: pg3, services: [postgres, etcd, haproxy]}
provider: {type: ovh, ovh: {project_id: abc, regions: [GRA11]}}
)",
                                     "shop.yaml");
    inv.paths.state_dir = tmp.path();
    pgdr::ClusterState st;
    st.cluster = "shop";
    st.project = "abc";
    st.secrets_fingerprint = "0123456789abcdef";
    st.hosts["pg1"].address = "10.0.0.11";
    pgdr::save_state(tmp.path(), st);
    auto back = pgdr::load_state(tmp.path());
    CHECK(back.cluster == "shop");
    CHECK(back.project == "abc");
    CHECK(back.secrets_fingerprint == "0123456789abcdef");
    CHECK_NOTHROW(pgdr::apply_state(inv, back));

    back.cluster = "blog";
    CHECK_THROWS_WITH(pgdr::apply_state(inv, back), Catch::Contains("belongs to cluster blog"));
    back.cluster = "shop";
    back.project = "xyz";
    CHECK_THROWS_WITH(pgdr::check_state_identity(inv, back), Catch::Contains("project xyz"));
    // An older state file records neither: accepted (and recorded by the next provision).
    CHECK_NOTHROW(pgdr::check_state_identity(inv, pgdr::ClusterState{}));
}

TEST_CASE("files: write_file_atomic applies the mode and replaces whole files", "[files]") {
    TempDir tmp;
    const std::string path = tmp.path() + "/a/b/c.conf";
    pgdr::write_file_atomic(path, "one\n", 0640);
    CHECK(pgdr::read_text_file(path) == std::string("one\n"));
    CHECK(mode_of(path) == 0640);
    CHECK(mode_of(tmp.path() + "/a/b") == 0755);

    pgdr::write_file_atomic(path, std::string("two\0bytes", 9), 0600);
    CHECK(pgdr::read_text_file(path) == std::string("two\0bytes", 9));
    CHECK(mode_of(path) == 0600);

    pgdr::write_file_atomic(path, "", 0644);
    CHECK(pgdr::read_text_file(path) == std::string());
    CHECK(mode_of(path) == 0644);

    size_t entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(tmp.path() + "/a/b")) {
        (void)e;
        ++entries;
    }
    CHECK(entries == 1);

    CHECK_FALSE(pgdr::read_text_file(tmp.path() + "/missing"));
    // A directory where the file should go: an error naming the path.
    CHECK_THROWS_AS(pgdr::write_file_atomic(tmp.path() + "/a", "x", 0600), pgdr::Error);
    pgdr::ensure_directory(tmp.path() + "/p/q/r", 0700);
    CHECK(mode_of(tmp.path() + "/p/q/r") == 0700);
    pgdr::ensure_directory(tmp.path() + "/p/q/r", 0755);  // exists: nothing to do
}

TEST_CASE("state: a state directory open to other users is restricted to 0700", "[state][mode]") {
    // Issue 13 (review): pre-existing state directories with wider modes are fixed.
    pgdr::test::TempDir tmp;
    const std::string dir = tmp.path() + "/state";
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    REQUIRE(::chmod(dir.c_str(), 0755) == 0);
    CHECK(pgdr::restrict_directory(dir));
    struct stat st {};
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK_FALSE(pgdr::restrict_directory(dir));  // already private
    CHECK_FALSE(pgdr::restrict_directory(dir + "/missing"));
    // ensure_secret fixes a secrets directory someone opened.
    REQUIRE(::mkdir((dir + "/secrets").c_str(), 0777) == 0);
    REQUIRE(::chmod((dir + "/secrets").c_str(), 0777) == 0);
    pgdr::ensure_secret(dir, "probe-password");
    REQUIRE(::stat((dir + "/secrets").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
}
