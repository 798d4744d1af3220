// A PostgreSQL WAL position (pg_lsn): two 32-bit hexadecimal halves, "0/3000060".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgdr::pg {

class Lsn {
  public:
    constexpr Lsn() = default;
    constexpr explicit Lsn(std::uint64_t bytes) : m_bytes(bytes) {}

    // "X/Y" with X and Y hexadecimal (1 to 8 digits each, either case), as PostgreSQL prints
    // pg_lsn; std::nullopt for anything else (empty, missing slash, overflow, stray characters).
    static std::optional<Lsn> parse(std::string_view text);

    constexpr std::uint64_t bytes() const { return m_bytes; }
    // PostgreSQL's spelling: upper-case hexadecimal without leading zeros, "0/3000060".
    std::string str() const;

    // this - other in bytes (negative when other is ahead), as pg_wal_lsn_diff().
    constexpr std::int64_t minus(Lsn other) const {
        return static_cast<std::int64_t>(m_bytes - other.m_bytes);
    }

    friend constexpr bool operator==(Lsn a, Lsn b) { return a.m_bytes == b.m_bytes; }
    friend constexpr auto operator<=>(Lsn a, Lsn b) { return a.m_bytes <=> b.m_bytes; }

  private:
    std::uint64_t m_bytes = 0;
};

}  // namespace pgdr::pg
