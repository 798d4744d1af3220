// Fuzz target for the inventory parser (DESIGN.md §9): any byte string must either parse into
// an Inventory or be refused with an InventoryError. Any other exception, a crash, a hang or a
// sanitizer report is a bug.
//
// With clang and PGDR_FUZZ=ON this is a libFuzzer target (with ASan and UBSan):
//   CXX=clang++ cmake -S . -B build-fuzz -DPGDR_FUZZ=ON && make -C build-fuzz pgdr_fuzz_inventory
//   build-fuzz/tests/fuzz/pgdr_fuzz_inventory -max_len=16384 tests/fuzz/corpus
// Elsewhere (GCC) it is built with PGDR_FUZZ_STANDALONE: a small driver that runs each file
// given as an argument (e.g. a crash reproducer or the corpus) through the same entry point.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/inventory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        auto inv = pgdr::parse_inventory(text, "fuzz/inventory.yaml");
        // A parsed inventory must hold what validation promised.
        if (inv.hosts_with(pgdr::Service::postgres).size() < 2 ||
            inv.hosts_with(pgdr::Service::etcd).size() % 2 == 0 ||
            inv.hosts_with(pgdr::Service::haproxy).empty()) {
            std::fprintf(stderr, "parse_inventory accepted an invalid topology\n");
            std::abort();
        }
    } catch (const pgdr::InventoryError& e) {
        if (e.diagnostics().empty()) {
            std::fprintf(stderr, "InventoryError without a diagnostic\n");
            std::abort();
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
        std::abort();
    }
    return 0;
}

#ifdef PGDR_FUZZ_STANDALONE
#include <fstream>
#include <iostream>
#include <iterator>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " FILE...\n";
        return 2;
    }
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
    std::cout << "ran " << argc - 1 << " input" << (argc == 2 ? "" : "s") << "\n";
    return 0;
}
#endif
