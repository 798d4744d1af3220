// Bounded fan-out: run one job per item on at most `max_parallel` threads.
#pragma once

#include <cstddef>
#include <functional>

namespace pgdr {

// Calls fn(i) for i in [0, count) on up to max_parallel threads and waits for all of them.
// fn should catch inside and store the outcome per item (results are data). An exception that
// escapes anyway never reaches std::terminate: the other jobs finish, then the first one is
// rethrown, a non-pgdr::Error as pgdr::Error (ExitCode::internal) naming the job.
void parallel_for(std::size_t count, std::size_t max_parallel,
                  const std::function<void(std::size_t)>& fn);

}  // namespace pgdr
