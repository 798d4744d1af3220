// ScopedEnv restores the variable's earlier value or absence: the cluster lock's
// PGDR_LOCK_LEASE after a pair's first cluster was bootstrapped inside a runbook (the child's
// second lock must join the runbook's lease, not find the variable unset or the first lock's).
#include "core/scoped_env.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

namespace {

std::string get(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? "<unset>" : v;
}

}  // namespace

TEST_CASE("scoped env: set for a scope, then the parent's value again", "[core]") {
    const char* name = "PGDR_SCOPED_ENV_TEST";
    ::setenv(name, "parent-lease", 1);
    {
        pgdr::ScopedEnv first(name, "own-lease");
        CHECK(get(name) == "own-lease");
        {
            pgdr::ScopedEnv nested(name, "inner");
            CHECK(get(name) == "inner");
        }
        CHECK(get(name) == "own-lease");
    }
    CHECK(get(name) == "parent-lease");
    ::unsetenv(name);
    {
        pgdr::ScopedEnv alone(name, "x");
        CHECK(get(name) == "x");
    }
    CHECK(get(name) == "<unset>");
}
