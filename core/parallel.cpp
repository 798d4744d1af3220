#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.hpp"

namespace pgdr {

namespace {

// fn(i), with any exception but pgdr::Error turned into one (ExitCode::internal).
void call(const std::function<void(std::size_t)>& fn, std::size_t i) {
    try {
        fn(i);
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(ExitCode::internal, "parallel job " + std::to_string(i) + ": " + e.what());
    } catch (...) {
        throw Error(ExitCode::internal,
                    "parallel job " + std::to_string(i) + ": unknown exception");
    }
}

}  // namespace

void parallel_for(std::size_t count, std::size_t max_parallel,
                  const std::function<void(std::size_t)>& fn) {
    if (count == 0) {
        return;
    }
    std::size_t workers = std::max<std::size_t>(1, std::min(count, max_parallel));
    if (workers == 1) {
        for (std::size_t i = 0; i < count; ++i) {
            call(fn, i);
        }
        return;
    }
    std::atomic<std::size_t> next{0};
    std::mutex mutex;
    std::exception_ptr first;  // the first job's failure, rethrown after every thread joined
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (std::size_t w = 0; w < workers; ++w) {
        threads.emplace_back([&] {
            for (std::size_t i = next++; i < count; i = next++) {
                try {
                    call(fn, i);
                } catch (...) {
                    std::lock_guard lock(mutex);
                    if (!first) {
                        first = std::current_exception();
                    }
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    if (first) {
        std::rethrow_exception(first);
    }
}

}  // namespace pgdr
