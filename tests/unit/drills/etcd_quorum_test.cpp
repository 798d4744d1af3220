#include "drills/etcd_quorum.hpp"

#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "fakes/recording_transport.hpp"

using namespace pgdr;
using pgdr::testing::RecordingTransport;

namespace {

drills::DrillTopology three_members() {
    drills::DrillTopology t;
    t.etcd = {{"pg1", "198.18.0.11"}, {"pg2", "198.18.0.12"}, {"pg3", "198.18.0.13"}};
    t.etcd_client_port = 2379;
    return t;
}

}  // namespace

// Hosts reached as a non-root user (OVH images log in as `debian`): the client key is 0600
// etcd:etcd, so `etcdctl endpoint health` fails with "permission denied" unless run as root,
// and the drill would refuse every fault that touches etcd for a quorum it has.
TEST_CASE("etcd quorum pre-check: etcdctl runs as root with the member's local endpoint",
          "[drills][etcd]") {
    RecordingTransport pg1{"pg1"}, pg2{"pg2"}, pg3{"pg3"};
    pg3.on({"etcdctl"}, 1, "", "Error: unhealthy cluster\n");
    std::map<std::string, Transport*> hosts{{"pg1", &pg1}, {"pg2", &pg2}, {"pg3", &pg3}};
    const auto health = drills::etcd_member_health(
        three_members(), [&](const std::string& h) -> Transport& { return *hosts.at(h); });
    REQUIRE(health.size() == 3);
    CHECK(health[0].healthy);
    CHECK(health[1].healthy);
    CHECK_FALSE(health[2].healthy);
    for (auto* t : {&pg1, &pg2, &pg3}) {
        const auto calls = t->calls();
        REQUIRE(calls.size() == 1);
        CHECK(calls[0].sudo);
        CHECK(calls[0].argv.front() == "etcdctl");
        CHECK(std::find(calls[0].argv.begin(), calls[0].argv.end(),
                        "--endpoints=https://127.0.0.1:2379") != calls[0].argv.end());
    }
}

TEST_CASE("etcd quorum pre-check: losing a second member of three is refused", "[drills][etcd]") {
    std::vector<drills::EtcdMemberHealth> health{
        {"pg1", true, ""}, {"pg2", true, ""}, {"pg3", false, "unhealthy"}};
    CHECK_NOTHROW(drills::check_etcd_quorum(health, "", "--kill-primary"));
    try {
        drills::check_etcd_quorum(health, "pg1", "--kill-etcd-member");
        FAIL("accepted a fault that breaks etcd's quorum");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::verification_failed);
        CHECK_THAT(e.what(), Catch::Contains("pg3"));
    }
}
