// RFC 4648 base64: the test vectors of section 10, both ways, and what decode refuses.
#include "core/base64.hpp"

#include <catch2/catch.hpp>

using pgdr::base64_decode;
using pgdr::base64_encode;

TEST_CASE("base64: RFC 4648 test vectors, both ways", "[base64]") {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                           {"f", "Zg=="},
                                                           {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},
                                                           {"foob", "Zm9vYg=="},
                                                           {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
        CHECK(base64_encode(plain) == encoded);
        CHECK(base64_decode(encoded) == std::string(plain));
    }
    const std::string binary("\x00\xff\xfe/+", 5);
    CHECK(base64_decode(base64_encode(binary)) == binary);
}

TEST_CASE("base64: decode refuses what is not padded base64", "[base64]") {
    CHECK_FALSE(base64_decode("Zg="));       // not a multiple of 4
    CHECK_FALSE(base64_decode("Z!=="));      // outside the alphabet
    CHECK_FALSE(base64_decode("Zg==Zg=="));  // padding inside
    CHECK_FALSE(base64_decode("Z==="));      // three pads
    CHECK_FALSE(base64_decode("Zg=a"));      // a character after a pad
}
