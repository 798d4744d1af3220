#include "unit/pg/golden.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "core/files.hpp"
#include "core/plan.hpp"

namespace pgdr::testing {

void check_golden(const std::string& relative, const std::string& actual) {
    const std::string path = std::string(PGDR_GOLDEN_DIR) + "/" + relative;
    const char* update = std::getenv("PGDR_UPDATE_GOLDEN");
    if (update != nullptr && std::string(update) == "1") {
        ensure_directory(std::filesystem::path(path).parent_path().string());
        write_file_atomic(path, actual, 0644);
        WARN("rewrote " << relative);
        return;
    }
    auto expected = read_text_file(path);
    INFO("golden file " << relative << " (regenerate with PGDR_UPDATE_GOLDEN=1)");
    REQUIRE(expected.has_value());
    INFO(unified_diff(*expected, actual, relative + " (golden)", relative + " (rendered)"));
    CHECK(actual == *expected);
}

}  // namespace pgdr::testing
