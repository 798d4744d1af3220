// shell_quote / shell_join: every word survives a real POSIX shell byte for byte.
#include "core/quote.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/local_transport.hpp"

using pgdr::shell_join;
using pgdr::shell_quote;

namespace {

// The words as a shell sees them: `sh -c '<line>'` where <line> is printf '%s\0' followed by
// the quoted words, so each word comes back NUL-terminated, exactly as the shell parsed it.
std::vector<std::string> through_shell(const std::vector<std::string>& words) {
    std::vector<std::string> argv{"printf", "%s\\0"};
    argv.insert(argv.end(), words.begin(), words.end());
    const std::string line = shell_join(argv);
    pgdr::LocalTransport local;
    pgdr::RunOptions opts;
    opts.timeout = std::chrono::seconds(10);
    auto res = local.run({"sh", "-c", line}, opts);
    INFO("command line: " << line << "\nstderr: " << res.err);
    REQUIRE(res.ok());
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t nul; (nul = res.out.find('\0', start)) != std::string::npos; start = nul + 1) {
        out.push_back(res.out.substr(start, nul - start));
    }
    CHECK(start == res.out.size());
    return out;
}

const std::vector<std::string> k_hostile = {
    "plain",
    "",
    "two words",
    "it's",
    "'",
    "''",
    "\"double\"",
    "back\\slash",
    "$(touch /tmp/pgdr-quote-pwned)",
    "`touch /tmp/pgdr-quote-pwned`",
    "${HOME}",
    "$HOME",
    "*",
    "/etc/*.conf",
    "?[a-z]",
    "~",
    "~root",
    "-n",
    "--help",
    "-e \\n",
    "line1\nline2",
    "\n",
    "tab\there",
    "semi;colon && or || pipe | amp & bang!",
    "redir > /tmp/x < /dev/null 2>&1",
    "(subshell) {group}",
    "#comment",
    "a=b",
    "%s%n",
    "\x01\x1b[31mred\x7f",
    "caf\xc3\xa9 \xe2\x82\xac",
    "\xff\xfe",
    std::string(5000, '\''),
};

}  // namespace

TEST_CASE("quote: safe words stay as they are, others are single-quoted", "[quote]") {
    CHECK(shell_quote("pg_ctl") == "pg_ctl");
    CHECK(shell_quote("/var/lib/postgresql/17/main") == "/var/lib/postgresql/17/main");
    CHECK(shell_quote("host=10.0.0.1,port=5432") == "host=10.0.0.1,port=5432");
    CHECK(shell_quote("user@host:22") == "user@host:22");
    CHECK(shell_quote("") == "''");
    CHECK(shell_quote("two words") == "'two words'");
    CHECK(shell_quote("it's") == "'it'\\''s'");
    CHECK(shell_quote("$(id)") == "'$(id)'");
    CHECK(shell_quote("~") == "'~'");
    CHECK(shell_quote("*") == "'*'");
    CHECK(shell_quote("a\nb") == "'a\nb'");
    CHECK(shell_join({"echo", "a b", "c"}) == "echo 'a b' c");
}

TEST_CASE("quote: NUL bytes and empty commands are refused", "[quote]") {
    CHECK_THROWS_AS(shell_quote(std::string("a\0b", 3)), std::invalid_argument);
    CHECK_THROWS_AS(shell_join({"echo", std::string("\0", 1)}), std::invalid_argument);
    CHECK_THROWS_AS(shell_join({}), std::invalid_argument);
}

TEST_CASE("quote: hostile words round-trip through a real sh", "[quote][shell]") {
    ::unlink("/tmp/pgdr-quote-pwned");
    CHECK(through_shell(k_hostile) == k_hostile);
    // One at a time too, so that no word depends on its neighbours.
    for (const auto& word : k_hostile) {
        INFO("word: " << word.substr(0, 60));
        CHECK(through_shell({word}) == std::vector<std::string>{word});
    }
    // Nothing was executed, expanded or globbed.
    CHECK(::access("/tmp/pgdr-quote-pwned", F_OK) != 0);
}

TEST_CASE("quote: the first word is the command even when it is hostile", "[quote][shell]") {
    pgdr::LocalTransport local;
    pgdr::RunOptions opts;
    opts.timeout = std::chrono::seconds(10);
    auto res = local.run({"sh", "-c", shell_join({"no such command; echo injected"})}, opts);
    CHECK(res.exit_status == 127);
    CHECK(res.out.find("injected") == std::string::npos);
}
