// The lab's scratch host names (lab/lab.hpp): what `drill --restore` creates and
// remove_scratch_host accepts; the rest needs root and the lab (e2e).
#include <catch2/catch.hpp>

#include "lab/lab.hpp"
#include "lab/layout.hpp"

using namespace pgdr::lab;

TEST_CASE("lab scratch hosts: names and addresses", "[lab][scratch]") {
    CHECK(Lab::scratch_name(k_scratch_first) == "scr100");
    CHECK(Lab::scratch_name(k_scratch_last) == "scr199");
    CHECK(Lab::is_scratch_name("scr100"));
    CHECK(Lab::is_scratch_name("scr199"));
    for (const char* other : {"pg1", "scr99", "scr200", "scr1x0", "scratch", "", "scr100 "}) {
        CAPTURE(other);
        CHECK_FALSE(Lab::is_scratch_name(other));
    }
    // Apart from the lab's own hosts (198.18.0.11-15), and short enough for the veth's name.
    CHECK(host_address(k_max_hosts) == "198.18.0." + std::to_string(10 + k_max_hosts));
    CHECK(10 + k_max_hosts < k_scratch_first);
    CHECK(veth_name(Lab::scratch_name(k_scratch_last)).size() <= 15);
}
