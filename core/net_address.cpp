#include "core/net_address.hpp"

#include <charconv>

namespace pgdr {

std::optional<std::uint32_t> parse_ipv4(const std::string& text) {
    std::uint32_t out = 0;
    const char* p = text.data();
    const char* end = text.data() + text.size();
    for (int i = 0; i < 4; ++i) {
        if (p == end || *p < '0' || *p > '9') {
            return std::nullopt;
        }
        if (*p == '0' && p + 1 != end && p[1] >= '0' && p[1] <= '9') {
            return std::nullopt;  // leading zero: some tools read it as octal
        }
        unsigned value = 0;
        auto [next, ec] = std::from_chars(p, end, value);
        if (ec != std::errc() || value > 255 || next - p > 3) {
            return std::nullopt;
        }
        out = (out << 8) | value;
        p = next;
        if (i < 3) {
            if (p == end || *p != '.') {
                return std::nullopt;
            }
            ++p;
        }
    }
    if (p != end) {
        return std::nullopt;
    }
    return out;
}

std::string format_ipv4(std::uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
           std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::uint32_t Cidr::mask() const {
    return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
}

bool Cidr::contains(std::uint32_t address) const {
    return (address & mask()) == network;
}

std::string Cidr::to_string() const {
    return format_ipv4(network) + "/" + std::to_string(prefix);
}

std::optional<Cidr> parse_cidr(const std::string& text) {
    auto slash = text.find('/');
    if (slash == std::string::npos) {
        return std::nullopt;
    }
    auto addr = parse_ipv4(text.substr(0, slash));
    std::string bits = text.substr(slash + 1);
    if (!addr || bits.empty() || bits.size() > 2) {
        return std::nullopt;
    }
    int prefix = 0;
    auto [next, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (ec != std::errc() || next != bits.data() + bits.size() || prefix < 0 || prefix > 32) {
        return std::nullopt;
    }
    Cidr c{*addr, prefix};
    if ((*addr & c.mask()) != *addr) {
        return std::nullopt;
    }
    return c;
}

}  // namespace pgdr
