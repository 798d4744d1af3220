// RFC 4648 base64 (standard alphabet, padded): HTTP basic authentication, etcd's JSON gateway
// (keys and values are base64), S3's Content-MD5.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgdr {

std::string base64_encode(std::string_view data);
// Nothing when `text` is not padded base64 of the standard alphabet.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace pgdr
