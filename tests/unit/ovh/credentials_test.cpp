// Credentials: the official clients' sources and precedence, merged per key.
#include "ovh/credentials.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.hpp"

namespace fs = std::filesystem;
using pgdr::ovh::CredentialSources;
using pgdr::ovh::load_credentials;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "pgdr-cred-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path); }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return (path / name).string();
    }
};

CredentialSources sources(std::map<std::string, std::string> env, std::vector<std::string> files) {
    CredentialSources s;
    s.env = [env](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    s.files = std::move(files);
    return s;
}

}  // namespace

TEST_CASE("credentials: env over ./ovh.conf over ~/.ovh.conf over /etc/ovh.conf, per key",
          "[ovh][credentials]") {
    TempDir dir;
    auto etc = dir.write("etc.conf",
                         "[default]\nendpoint=ovh-ca\n[ovh-ca]\napplication_key=etc-ak\n"
                         "application_secret=etc-as\nconsumer_key=etc-ck\n");
    auto home = dir.write("home.conf", "; comment\n[ovh-ca]\napplication_secret = home-as\n");
    auto local = dir.write("local.conf", "# comment\n[ovh-ca]\nconsumer_key: local-ck\n");

    SECTION("files merged key by key, later files winning") {
        auto c = load_credentials(sources({}, {etc, home, local}));
        CHECK(c.endpoint == "ovh-ca");
        CHECK(c.base_url == "https://ca.api.ovh.com/1.0");
        CHECK(c.application_key == "etc-ak");
        CHECK(c.application_secret == "home-as");
        CHECK(c.consumer_key == "local-ck");
        CHECK(c.origin["application_key"] == etc);
        CHECK(c.origin["application_secret"] == home);
        CHECK(c.origin["consumer_key"] == local);
        CHECK(c.origin["endpoint"] == etc);
    }
    SECTION("environment wins over every file") {
        auto c = load_credentials(
            sources({{"OVH_APPLICATION_SECRET", "env-as"}, {"OVH_CONSUMER_KEY", "env-ck"}},
                    {etc, home, local}));
        CHECK(c.application_key == "etc-ak");
        CHECK(c.application_secret == "env-as");
        CHECK(c.consumer_key == "env-ck");
        CHECK(c.origin["consumer_key"] == "OVH_CONSUMER_KEY");
    }
    SECTION("OVH_ENDPOINT selects the section; the inventory's endpoint wins over it") {
        auto eu = dir.write("eu.conf", "[ovh-eu]\napplication_key=eu-ak\n");
        auto c = load_credentials(sources({{"OVH_ENDPOINT", "ovh-eu"}}, {etc, eu}));
        CHECK(c.endpoint == "ovh-eu");
        CHECK(c.application_key == "eu-ak");
        CHECK(c.application_secret.empty());
        auto d = load_credentials(sources({{"OVH_ENDPOINT", "ovh-eu"}}, {etc, eu}), "ovh-ca");
        CHECK(d.endpoint == "ovh-ca");
        CHECK(d.origin["endpoint"] == "inventory");
        CHECK(d.application_key == "etc-ak");
    }
    SECTION("missing files are skipped") {
        auto c = load_credentials(sources({}, {(dir.path / "nope").string(), local}));
        CHECK(c.endpoint == "ovh-eu");
        CHECK(c.origin["endpoint"] == "default");
    }
}

TEST_CASE("credentials: a URL endpoint, with its own ovh.conf section", "[ovh][credentials]") {
    TempDir dir;
    auto conf = dir.write("ovh.conf",
                          "[http://127.0.0.1:4242/1.0]\napplication_key=fake-ak\n"
                          "application_secret=fake-as\nconsumer_key=fake-ck\n");
    auto c = load_credentials(sources({{"OVH_ENDPOINT", "http://127.0.0.1:4242/1.0/"}}, {conf}));
    CHECK(c.base_url == "http://127.0.0.1:4242/1.0");
    // The section is named by the endpoint exactly as configured.
    CHECK(c.application_key.empty());
    auto d = load_credentials(sources({{"OVH_ENDPOINT", "http://127.0.0.1:4242/1.0"}}, {conf}));
    CHECK(d.application_key == "fake-ak");
    CHECK_NOTHROW(pgdr::ovh::require_complete(d));
}

TEST_CASE("credentials: endpoint names, URLs and the v1/v2 path rule", "[ovh][credentials]") {
    using pgdr::ovh::endpoint_base_url;
    using pgdr::ovh::target_url;
    CHECK(endpoint_base_url("ovh-eu") == "https://eu.api.ovh.com/1.0");
    CHECK(endpoint_base_url("ovh-us") == "https://api.us.ovhcloud.com/1.0");
    CHECK(endpoint_base_url("https://api.eu.ovhcloud.com/1.0") ==
          "https://api.eu.ovhcloud.com/1.0");
    CHECK_THROWS_AS(endpoint_base_url("ovh-mars"), pgdr::Error);
    CHECK_THROWS_AS(endpoint_base_url("ftp://x/1.0"), pgdr::Error);
    const std::string base = "https://eu.api.ovh.com/1.0";
    CHECK(target_url(base, "/auth/time") == "https://eu.api.ovh.com/1.0/auth/time");
    CHECK(target_url(base, "/v2/publicCloud/project/p/network") ==
          "https://eu.api.ovh.com/v2/publicCloud/project/p/network");
    CHECK(target_url(base, "/v1/call") == "https://eu.api.ovh.com/v1/call");
    CHECK(target_url("http://127.0.0.1:9/1.0", "/v2/x") == "http://127.0.0.1:9/v2/x");
}

TEST_CASE("credentials: incomplete credentials name what is missing, never a value",
          "[ovh][credentials]") {
    pgdr::ovh::Credentials c;
    c.endpoint = "ovh-eu";
    c.application_key = "some-application-key";
    try {
        pgdr::ovh::require_complete(c);
        FAIL("no error");
    } catch (const pgdr::Error& e) {
        CHECK(e.code() == pgdr::ExitCode::invalid_config);
        std::string what = e.what();
        CHECK(what.find("application_secret (OVH_APPLICATION_SECRET)") != std::string::npos);
        CHECK(what.find("consumer_key (OVH_CONSUMER_KEY)") != std::string::npos);
        CHECK(what.find("some-application-key") == std::string::npos);
    }
    c.application_secret = "s";
    CHECK_NOTHROW(pgdr::ovh::require_complete(c, false));
}

TEST_CASE("parse_ini reads sections, both separators and comments", "[ovh][credentials]") {
    auto ini = pgdr::ovh::parse_ini(
        "top=ignored\n[default]\n endpoint = ovh-eu \n;x=y\n#z=w\n[ovh-eu]\na:b\nc=d=e\n");
    CHECK(ini["default"]["endpoint"] == "ovh-eu");
    CHECK(ini["ovh-eu"]["a"] == "b");
    CHECK(ini["ovh-eu"]["c"] == "d=e");
    CHECK(ini["default"].count("x") == 0);
    CHECK(ini.count("") == 0);
}

TEST_CASE("credentials: plain http:// only to a loopback test API", "[ovh][credentials]") {
    // Issue 13 item 9: an inventory endpoint of http://somewhere sent the keys in clear.
    using pgdr::ovh::endpoint_base_url;
    CHECK(endpoint_base_url("http://127.0.0.1:4242/1.0") == "http://127.0.0.1:4242/1.0");
    CHECK(endpoint_base_url("http://localhost:9/1.0") == "http://localhost:9/1.0");
    CHECK(endpoint_base_url("http://[::1]:9/1.0") == "http://[::1]:9/1.0");
    CHECK(endpoint_base_url("https://api.example.net/1.0") == "https://api.example.net/1.0");
    CHECK_THROWS_WITH(endpoint_base_url("http://api.example.net/1.0"),
                      Catch::Contains("plain http://"));
    CHECK_THROWS_AS(endpoint_base_url("http://198.19.0.1/1.0"), pgdr::Error);
    CHECK_THROWS_AS(endpoint_base_url("http://127.0.0.1.evil.example/1.0"), pgdr::Error);
    CHECK_THROWS_AS(endpoint_base_url("http://127.0.0.1@evil.example/1.0"), pgdr::Error);
}
