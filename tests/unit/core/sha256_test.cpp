#include "core/sha256.hpp"

#include <catch2/catch.hpp>
#include <string>

using pgdr::sha256_hex;

TEST_CASE("sha256: FIPS 180-4 test vectors", "[sha256]") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex(std::string(1000000, 'a')) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // Block boundaries: 55, 56 and 64 bytes end in one or two padding blocks.
    CHECK(sha256_hex(std::string(55, 'a')) ==
          "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    CHECK(sha256_hex(std::string(56, 'a')) ==
          "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    CHECK(sha256_hex(std::string(64, 'a')) ==
          "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

#include "core/error.hpp"
#include "core/transport.hpp"

TEST_CASE("append_capped: command output past the cap is an error, not unbounded memory",
          "[core][transport]") {
    // Issue 13 (review): SSH output buffers are capped at k_max_command_output (64 MiB).
    CHECK(pgdr::k_max_command_output == 64u * 1024 * 1024);
    std::string out;
    pgdr::append_capped(out, "abcd", 4, "pg1", "stdout", 8);
    pgdr::append_capped(out, "efgh", 4, "pg1", "stdout", 8);
    CHECK(out == "abcdefgh");
    try {
        pgdr::append_capped(out, "i", 1, "pg1", "stdout", 8);
        FAIL("grew past the cap");
    } catch (const pgdr::Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("pg1: the command's stdout exceeds"));
    }
    CHECK(out.size() == 8);
}
