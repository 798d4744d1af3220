// A link with added latency between two of the twin's private network bridges, in user space,
// for kernels without netem (sch_netem): every Ethernet frame that arrives on one interface is
// sent out of the other `delay` later, in order, both ways. The interfaces are the free ends of
// two veth pairs whose other ends sit in the two bridges.
#pragma once

#include <chrono>
#include <string>

namespace pgdr::lab {

// Relays until the process ends or an interface disappears; then returns. Throws
// std::runtime_error when the interfaces cannot be opened (needs CAP_NET_RAW).
void run_delay_link(const std::string& a, const std::string& b, std::chrono::milliseconds delay);

}  // namespace pgdr::lab
