// with_sudo: root runs commands as they are; another user goes through `sudo -n --`, so a
// password prompt can never hang a run and no argument is taken for a sudo option.
#include <catch2/catch.hpp>

#include "net/ssh_transport.hpp"

using pgdr::net::with_sudo;

TEST_CASE("with_sudo leaves root's commands alone", "[net][ssh]") {
    CHECK(with_sudo("root", {"systemctl", "start", "etcd"}) ==
          std::vector<std::string>{"systemctl", "start", "etcd"});
}

TEST_CASE("with_sudo wraps another user's command in sudo -n --", "[net][ssh]") {
    CHECK(with_sudo("debian", {"-rf", "x"}) ==
          std::vector<std::string>{"sudo", "-n", "--", "-rf", "x"});
}
