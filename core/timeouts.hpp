// Named bounds shared across pgdr, instead of the same literal in several files. Each says what
// it bounds and why it is that long; a bound that belongs to one operation stays next to it.
#pragma once

#include <chrono>

namespace pgdr {

// A command on a host that answers at once when the host is well (a status read, a query on
// the local socket, `nft --version`): past this, the host counts as not answering. Generous for
// an SSH session that has to be set up first over a slow link.
inline constexpr std::chrono::seconds k_quick_command_timeout{20};

}  // namespace pgdr
