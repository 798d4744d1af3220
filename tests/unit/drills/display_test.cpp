#include "drills/display.hpp"

#include <catch2/catch.hpp>

#include "drills/report_file.hpp"

using namespace pgdr;
using namespace pgdr::drills;

TEST_CASE("durations, offsets and bytes for people", "[drills][display]") {
    CHECK(format_duration(0) == "0.00 s");
    CHECK(format_duration(4) == "0.00 s");
    CHECK(format_duration(5) == "0.01 s");
    CHECK(format_duration(33120) == "33.12 s");
    CHECK(format_duration(-50) == "-0.05 s");
    CHECK(format_offset(11203) == "+11.20 s");
    CHECK(format_offset(-7) == "-0.01 s");
    CHECK(format_offset(0) == "+0.00 s");
    CHECK(format_bytes(0) == "0 B");
    CHECK(format_bytes(1023) == "1023 B");
    CHECK(format_bytes(1536) == "1.5 KiB");
    CHECK(format_bytes(1048576) == "1.0 MiB");
    CHECK(or_dash(std::nullopt) == "-");
    CHECK(or_dash_count(std::optional<std::int64_t>(3)) == "3");
}

TEST_CASE("xml escaping covers markup and forbidden control characters", "[drills][display]") {
    CHECK(xml_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&apos;");
    CHECK(xml_escape(std::string("x\x01y\tz\n", 6)) == "x?y\tz\n");
    CHECK(xml_escape("héllo") == "héllo");  // UTF-8 passes through
}

TEST_CASE("report format from the file extension", "[drills][display]") {
    CHECK(report_format_for_path("drill.json") == ReportFormat::json);
    CHECK(report_format_for_path("out/Drill.MD") == ReportFormat::markdown);
    CHECK(report_format_for_path("r.markdown") == ReportFormat::markdown);
    CHECK(report_format_for_path("junit.xml") == ReportFormat::junit);
    CHECK(report_format_for_path("t.svg") == ReportFormat::svg);
    CHECK(report_format_for_path("t.txt") == ReportFormat::text);
    CHECK_FALSE(report_format_for_path("report.pdf"));
    CHECK_FALSE(report_format_for_path("dir.d/report"));
    CHECK_FALSE(report_format_for_path("report"));
}
