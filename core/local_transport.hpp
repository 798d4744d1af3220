// LocalTransport: the Transport seam on this machine (fork/exec, no shell), used by the lab
// to drive ip/nspawn/nft and by tests. Same contract as every Transport: results are data,
// a command past its timeout is killed (its whole process group) and reported timed_out.
#pragma once

#include "core/transport.hpp"

namespace pgdr {

class LocalTransport final : public Transport {
  public:
    explicit LocalTransport(std::string name = "localhost") : m_name(std::move(name)) {}
    const std::string& host_name() const override { return m_name; }
    // opts.sudo is ignored: pgdr runs these as the invoking user (root for the lab).
    CommandResult run(const std::vector<std::string>& argv, const RunOptions& opts) override;

  private:
    std::string m_name;
};

}  // namespace pgdr
