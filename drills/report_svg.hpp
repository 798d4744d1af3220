// The SVG timeline picture of one drill (`--report FILE.svg`): a strip of the write probe's
// outcomes (green = acknowledged, red = failed; per pixel column, red when any write in it
// failed), outages shaded, each phase as a labelled vertical marker, and a time axis in
// seconds relative to the fault. Standalone, well-formed XML; every text is escaped.
#pragma once

#include <string>

#include "drills/report.hpp"

namespace pgdr::drills {

std::string render_svg(const Report& report);

}  // namespace pgdr::drills
