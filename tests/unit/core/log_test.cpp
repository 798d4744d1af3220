// Logger: levels, format, and redaction of registered secrets.
#include "core/log.hpp"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>

using pgdr::Logger;

TEST_CASE("log: secrets are replaced, the longest first", "[log]") {
    std::ostringstream sink;
    Logger log(sink, 0);
    log.add_secret("s3cretPassw0rd");
    log.add_secret("s3cretPassw0rdEXTENDED");
    log.add_secret("abc");  // too short to redact without mangling ordinary words
    CHECK(log.redact("password=s3cretPassw0rd host=x") == "password=[redacted] host=x");
    // The longer secret is redacted whole, not as "[redacted]EXTENDED".
    CHECK(log.redact("k=s3cretPassw0rdEXTENDED;") == "k=[redacted];");
    CHECK(log.redact("s3cretPassw0rds3cretPassw0rd") == "[redacted][redacted]");
    CHECK(log.redact("abc abcdef") == "abc abcdef");
    CHECK(log.redact("nothing here") == "nothing here");

    log.error("auth failed for s3cretPassw0rd");
    CHECK(sink.str() == "pgdr: error: auth failed for [redacted]\n");
}

TEST_CASE("log: levels follow the verbosity", "[log]") {
    std::ostringstream quiet_sink;
    Logger quiet(quiet_sink, 0);
    quiet.info("hidden");
    quiet.debug("hidden");
    quiet.warn("shown");
    CHECK(quiet_sink.str() == "pgdr: warning: shown\n");
    CHECK(quiet.verbosity() == 0);

    std::ostringstream loud_sink;
    Logger loud(loud_sink, 3);
    loud.info("i");
    loud.debug("d");
    loud.trace("t");
    CHECK(loud_sink.str() == "pgdr: info: i\npgdr: debug: d\npgdr: trace: t\n");

    std::ostringstream color_sink;
    Logger colored(color_sink, 0, true);
    colored.error("boom");
    CHECK(color_sink.str() == "\033[31mpgdr: error:\033[0m boom\n");
}
