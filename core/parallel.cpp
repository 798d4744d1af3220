#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace pgdr {

void parallel_for(std::size_t count, std::size_t max_parallel,
                  const std::function<void(std::size_t)>& fn) {
    if (count == 0) {
        return;
    }
    std::size_t workers = std::max<std::size_t>(1, std::min(count, max_parallel));
    if (workers == 1) {
        for (std::size_t i = 0; i < count; ++i) {
            fn(i);
        }
        return;
    }
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (std::size_t w = 0; w < workers; ++w) {
        threads.emplace_back([&] {
            for (std::size_t i = next++; i < count; i = next++) {
                fn(i);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
}

}  // namespace pgdr
