// IPv4 addresses and CIDR blocks: parsing, containment and the lab's allowed ranges.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pgdr {

// Strict dotted quad ("198.18.0.11"); no leading zeros, no shorthand.
std::optional<std::uint32_t> parse_ipv4(const std::string& text);
std::string format_ipv4(std::uint32_t address);

struct Cidr {
    std::uint32_t network = 0;  // host bits cleared
    int prefix = 0;

    bool contains(std::uint32_t address) const;
    std::uint32_t mask() const;
    std::string to_string() const;  // "198.18.0.0/24"
};

// "a.b.c.d/n"; host bits must be zero (198.18.0.5/24 is refused: it is ambiguous).
std::optional<Cidr> parse_cidr(const std::string& text);

}  // namespace pgdr
