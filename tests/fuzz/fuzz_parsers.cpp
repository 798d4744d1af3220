// Fuzz target for every parser of outside input (issue 13): the first byte picks the parser,
// the rest is its input. Each must either return or throw pgdr::Error (its subclasses
// InventoryError, RunbookError included); any other exception, a crash, a hang or a sanitizer
// report is a bug.
//
//   0 inventory YAML      1 runbook YAML           2 Patroni GET /cluster and GET / JSON
//   3 etcd /health JSON,  etcdctl lease grant, the cluster lock's value
//   4 HAProxy stats CSV   5 OVH error JSON, ovh.conf, Retry-After
//   6 state.json          7 the fault journal      8 host facts, durations, timelines
//
// Built with clang as a libFuzzer binary (-DPGDR_FUZZ=ON; ctest fuzz_parsers runs it for 60 s
// through tests/fuzz/run-fuzz.sh); with another compiler behind a standalone driver that runs
// the files given as arguments (the corpus).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/inventory.hpp"
#include "core/state.hpp"
#include "drills/cluster_checks.hpp"
#include "drills/fault_journal.hpp"
#include "ovh/api_error.hpp"
#include "ovh/credentials.hpp"
#include "ovh/retry.hpp"
#include "pg/cluster_snapshot.hpp"
#include "pg/facts.hpp"
#include "pg/haproxy_csv.hpp"
#include "pg/operation_lock.hpp"
#include "pg/patroni_api.hpp"
#include "runbook/parser.hpp"

namespace {

void parse(std::uint8_t kind, const std::string& text) {
    switch (kind % 9) {
        case 0:
            pgdr::parse_inventory(text, "fuzz/inventory.yaml");
            break;
        case 1:
            pgdr::runbook::parse_runbook(text, "fuzz/runbook.yaml");
            break;
        case 2:
            pgdr::pg::parse_cluster_members(text);
            pgdr::pg::parse_patroni_status(text);
            break;
        case 3: {
            std::string detail;
            pgdr::pg::parse_etcd_health(text, detail);
            pgdr::pg::parse_lease_grant(text);
            pgdr::pg::parse_lock_value(text);
            break;
        }
        case 4:
            pgdr::pg::parse_haproxy_csv(text);
            break;
        case 5: {
            pgdr::ovh::ApiFailure failure;
            pgdr::ovh::parse_error_body(text, failure);
            pgdr::ovh::parse_ini(text);
            pgdr::ovh::parse_retry_after(text);
            break;
        }
        case 6:
            pgdr::parse_state(text, "fuzz/state.json");
            break;
        case 7:
            pgdr::drills::parse_fault_journal(text, "fuzz/fault-journal.json");
            break;
        default:
            pgdr::pg::parse_facts("fuzz", text);
            pgdr::parse_duration(text);
            pgdr::drills::parse_history(text);
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        parse(data[0], text);
    } catch (const pgdr::Error&) {
        // Refused with a message: fine.
    } catch (const std::exception& e) {
        std::fprintf(stderr, "parser %d: unexpected exception: %s\n", data[0] % 9, e.what());
        std::abort();
    }
    return 0;
}

#ifdef PGDR_FUZZ_STANDALONE
#include <fstream>
#include <iostream>
#include <iterator>

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::ifstream in(argv[i], std::ios::binary);
        if (!in) {
            std::cerr << argv[i] << ": cannot read\n";
            return 2;
        }
        const std::string bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    std::cout << "ran " << argc - 1 << " inputs\n";
    return 0;
}
#endif
