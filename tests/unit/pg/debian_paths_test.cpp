#include "pg/debian_paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"
#include "pg/secrets.hpp"

using namespace pgdr;
using namespace pgdr::pg;

TEST_CASE("Debian paths derive from the PostgreSQL version", "[pg][paths]") {
    for (int v : {15, 17}) {
        const std::string s = std::to_string(v);
        const auto p = debian_paths(v);
        CHECK(p.cluster == s + "-main");
        CHECK(p.data_dir == "/var/lib/postgresql/" + s + "/main");
        CHECK(p.bin_dir == "/usr/lib/postgresql/" + s + "/bin");
        CHECK(p.config_dir == "/etc/postgresql/" + s + "/main");
        CHECK(p.include_file == "/etc/postgresql/" + s + "/main/conf.d/pgdr.conf");
        CHECK(p.patroni_config == "/etc/patroni/" + s + "-main.yml");
        CHECK(p.patroni_unit == "patroni@" + s + "-main");
        CHECK(p.postgres_unit == "postgresql@" + s + "-main");
        CHECK(p.patroni_pgpass == "/var/lib/postgresql/" + s + "-main.pgpass");
        CHECK(p.patroni_config != "/etc/patroni/config.yml");
    }
    CHECK_THROWS_AS(debian_paths(9), Error);
}

TEST_CASE("Debian releases and their packages", "[pg][paths]") {
    const auto& trixie = debian_release("trixie");
    CHECK(trixie.postgres_version == 17);
    CHECK(trixie.patroni_version == "4.0.7");
    CHECK(trixie.postgres_version == postgres_major_for_release("trixie"));
    const auto& bookworm = debian_release("bookworm");
    CHECK(bookworm.postgres_version == 15);
    CHECK(bookworm.etcd_series == "3.4");
    CHECK(bookworm.postgres_version == postgres_major_for_release("bookworm"));
    CHECK_FALSE(trixie.etcd_v2_needed);
    CHECK_FALSE(bookworm.etcd_v2_needed);
    CHECK_THROWS_AS(debian_release("sid"), Error);

    HostSpec all;
    all.services = {Service::postgres, Service::etcd, Service::haproxy};
    CHECK(packages_for(trixie, all) ==
          std::vector<std::string>{"postgresql-17", "postgresql-client-17", "patroni",
                                   "python3-etcd", "python3-psycopg2", "etcd-server", "etcd-client",
                                   "haproxy"});
    HostSpec lb;
    lb.services = {Service::haproxy};
    CHECK(packages_for(bookworm, lb) == std::vector<std::string>{"haproxy"});
}

TEST_CASE("secrets are generated once, 0600, and registered for redaction", "[pg][secrets]") {
    auto dir = std::filesystem::temp_directory_path() /
               ("pgdr-secrets-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const Secrets first = load_secrets(dir.string());
    const Secrets second = load_secrets(dir.string());
    CHECK(first.replication_password == second.replication_password);
    CHECK(first.rest_api_password == second.rest_api_password);
    CHECK(first.replication_password != first.superuser_password);
    CHECK(first.replication_password.size() >= 20);
    struct stat st {};
    REQUIRE(::stat((dir / "secrets" / k_replication_secret).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    std::ostringstream sink;
    Logger log(sink);
    register_secrets(first, log);
    CHECK(log.redact("pw=" + first.rewind_password) == "pw=[redacted]");
    std::filesystem::remove_all(dir);
}
