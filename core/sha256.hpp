// SHA-256 (FIPS 180-4) of a byte string, as lowercase hex: what `sha256sum` prints. core/ keeps
// no crypto library dependency; put_file uses this to let the host verify what it received.
#pragma once

#include <string>
#include <string_view>

namespace pgdr {

// The 64-character lowercase hex digest of data.
std::string sha256_hex(std::string_view data);

}  // namespace pgdr
