// Golden-file comparison for renderer tests (see tests/golden/README.md).
#pragma once

#include <string>

namespace pgdr::testing {

// Compares `actual` with tests/golden/<relative>. With PGDR_UPDATE_GOLDEN=1 in the environment
// the file is (re)written instead. A mismatch fails the current test with a unified diff.
void check_golden(const std::string& relative, const std::string& actual);

}  // namespace pgdr::testing
