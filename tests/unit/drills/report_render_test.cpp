#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/files.hpp"
#include "drills/report_file.hpp"
#include "drills/report_json.hpp"
#include "drills/report_junit.hpp"
#include "drills/report_markdown.hpp"
#include "drills/report_svg.hpp"
#include "drills/report_text.hpp"
#include "scenarios.hpp"

using namespace pgdr;
using namespace pgdr::drills;
using namespace pgdr::drills::test;

namespace {

// Compares with tests/golden/drills/<name>; PGDR_UPDATE_GOLDEN=1 rewrites the file instead.
void check_golden(const std::string& name, const std::string& actual) {
    const std::string path = std::string(PGDR_GOLDEN_DIR) + "/drills/" + name;
    const char* update = std::getenv("PGDR_UPDATE_GOLDEN");
    if (update != nullptr && std::string(update) == "1") {
        write_file_atomic(path, actual);
        WARN("updated " << path);
        return;
    }
    auto expected = read_text_file(path);
    INFO("golden file " << path << " (regenerate with PGDR_UPDATE_GOLDEN=1)");
    REQUIRE(expected.has_value());
    CHECK(actual == *expected);
}

// A small well-formedness check: tags balance, attributes are quoted, every '&' starts one of
// the five predefined entities, no '<' inside text or attribute values.
bool well_formed_xml(const std::string& xml, std::string& why) {
    std::vector<std::string> stack;
    std::size_t i = 0;
    bool root_seen = false;
    while (i < xml.size()) {
        char c = xml[i];
        if (c == '&') {
            static const char* const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            bool ok = false;
            for (const char* e : entities) {
                ok = ok || xml.compare(i, std::strlen(e), e) == 0;
            }
            if (!ok) {
                why = "bare & at " + std::to_string(i);
                return false;
            }
            ++i;
            continue;
        }
        if (c != '<') {
            ++i;
            continue;
        }
        if (xml.compare(i, 2, "<?") == 0) {
            i = xml.find("?>", i);
            if (i == std::string::npos) {
                why = "unterminated <?";
                return false;
            }
            i += 2;
            continue;
        }
        std::size_t end = i + 1;
        bool in_quote = false;
        while (end < xml.size() && (in_quote || xml[end] != '>')) {
            if (xml[end] == '"') {
                in_quote = !in_quote;
            } else if (xml[end] == '<') {
                why = "'<' inside a tag at " + std::to_string(end);
                return false;
            }
            ++end;
        }
        if (end >= xml.size()) {
            why = "unterminated tag";
            return false;
        }
        std::string tag = xml.substr(i + 1, end - i - 1);
        if (!tag.empty() && tag[0] == '/') {
            std::string name = tag.substr(1);
            if (stack.empty() || stack.back() != name) {
                why = "unbalanced </" + name + ">";
                return false;
            }
            stack.pop_back();
        } else {
            std::string name = tag.substr(0, tag.find_first_of(" \n/"));
            if (stack.empty()) {
                if (root_seen) {
                    why = "second root element " + name;
                    return false;
                }
                root_seen = true;
            }
            if (tag.back() != '/') {
                stack.push_back(name);
            }
        }
        i = end + 1;
    }
    if (!stack.empty()) {
        why = "unclosed <" + stack.back() + ">";
        return false;
    }
    return root_seen;
}

Report hostile_report() {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    in.cluster = "prod<&>\"'|`x`";
    in.errors.push_back("restore failed: </failure><x> & ]]> \x01 | pipe");
    return drill.analyze_with(in);
}

}  // namespace

TEST_CASE("golden: one scripted kill-primary drill in every format", "[drills][render]") {
    KillPrimaryDrill drill;
    Report r = drill.analyze();
    check_golden("kill_primary.json", render_json(r));
    check_golden("kill_primary.md", render_markdown(r));
    check_golden("kill_primary.xml", render_junit(r));
    check_golden("kill_primary.svg", render_svg(r));
    check_golden("kill_primary.txt", render_text(r));
}

TEST_CASE("json: the stable fields with their types", "[drills][render]") {
    KillPrimaryDrill drill;
    auto j = nlohmann::json::parse(render_json(drill.analyze()));
    for (const char* key :
         {"drill", "cluster", "started_at", "old_primary", "new_primary", "verdict"}) {
        INFO(key);
        CHECK(j.at(key).is_string());
    }
    for (const char* key :
         {"rto_ms", "write_outage_ms", "predicted_rto_ms", "lost_acknowledged_writes",
          "unacknowledged_applied_writes", "lag_at_fault_bytes"}) {
        INFO(key);
        CHECK(j.at(key).is_number_integer());
    }
    CHECK(j.at("restored").is_boolean());
    CHECK(j.at("verdict") == "pass");
    CHECK(j.at("drill") == "kill-primary");
    CHECK(j.at("rto_ms") == 11203);
    REQUIRE(j.at("phases").is_array());
    CHECK(j.at("phases").size() == 10);
    for (const auto& p : j.at("phases")) {
        CHECK(p.at("name").is_string());
        CHECK(p.at("at_ms").is_number_integer());
    }
    CHECK(j.at("split_brain") == false);
    CHECK(j.at("objectives").at("max_rto_ms") == 15000);
}

TEST_CASE("json: unknown figures are null", "[drills][render]") {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    in.seqs_on_new_primary.reset();
    in.fault = FaultKind::kill_haproxy;
    auto j = report_to_json(drill.analyze_with(in));
    CHECK(j.at("lost_acknowledged_writes").is_null());
    CHECK(j.at("predicted_rto_ms").is_null());
    CHECK(j.at("verdict") == "fail");
}

TEST_CASE("xml renderings stay well-formed with hostile text", "[drills][render]") {
    Report r = hostile_report();
    std::string why;
    const std::string junit = render_junit(r);
    CHECK(well_formed_xml(junit, why));
    INFO(why);
    CHECK(junit.find("prod&lt;&amp;&gt;&quot;&apos;") != std::string::npos);
    CHECK(junit.find("</failure><x>") == std::string::npos);
    const std::string svg = render_svg(r);
    CHECK(well_formed_xml(svg, why));
    INFO(why);
    CHECK(svg.find("prod<") == std::string::npos);
    CHECK(svg.find('\x01') == std::string::npos);

    KillPrimaryDrill drill;
    Report good = drill.analyze();
    CHECK(well_formed_xml(render_junit(good), why));
    CHECK(well_formed_xml(render_svg(good), why));
    CHECK_FALSE(well_formed_xml("<a><b></a></b>", why));  // the checker itself
    CHECK_FALSE(well_formed_xml("<a>x & y</a>", why));
}

TEST_CASE("junit: one testcase per check, failures carry the detail", "[drills][render]") {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    in.objectives.max_rto_ms = 5000;
    Report r = drill.analyze_with(in);
    const std::string xml = render_junit(r);
    CHECK(xml.find("tests=\"10\" failures=\"1\"") != std::string::npos);
    CHECK(xml.find("name=\"max_rto\" time=\"0.000\">\n    <failure message=\"RTO 11.20 s, "
                   "objective 5.00 s\"") != std::string::npos);
    CHECK(xml.find("name=\"no_split_brain\" time=\"0.000\"/>") != std::string::npos);

    std::vector<Report> runs{r, drill.analyze()};
    const std::string many = render_junit(runs);
    CHECK(many.find("tests=\"20\" failures=\"1\"") != std::string::npos);
    CHECK(many.find("name=\"run 2: max_rto\"") != std::string::npos);
}

TEST_CASE("markdown: hostile names cannot break the tables", "[drills][render]") {
    Report r = hostile_report();
    const std::string md = render_markdown(r);
    std::istringstream lines(md);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("| ", 0) != 0) {
            continue;
        }
        // Unescaped pipes = column separators: 3 for 2 columns, 4 for 3, 6 for the 5 of the
        // phases.
        int pipes = 0;
        for (std::size_t i = 0; i < line.size(); ++i) {
            pipes += line[i] == '|' && (i == 0 || line[i - 1] != '\\') ? 1 : 0;
        }
        INFO(line);
        CHECK((pipes == 3 || pipes == 4 || pipes == 6));
    }
    CHECK(md.find("restore failed: \\</failure\\>") == std::string::npos);
    CHECK(md.find("\\| pipe") != std::string::npos);
}

TEST_CASE("text: split brain comes first and loud", "[drills][render]") {
    KillPrimaryDrill drill;
    AnalysisInput in = drill.input();
    in.post_check->timelines["pg3"] = 1;
    const std::string text = render_text(drill.analyze_with(in));
    auto loud = text.find("SPLIT BRAIN");
    REQUIRE(loud != std::string::npos);
    CHECK(loud < text.find("RTO"));
    CHECK(text.find("pg3 is on timeline 1, the leader pg2 on timeline 2") != std::string::npos);
    CHECK(text.rfind("pgdr drill kill-primary on lab: FAIL\n", 0) == 0);
}

TEST_CASE("repeats: summary renderings", "[drills][render]") {
    KillPrimaryDrill drill;
    std::vector<Report> runs{drill.analyze(), drill.analyze(), drill.analyze()};
    RepeatSummary s = aggregate(runs);
    auto j = nlohmann::json::parse(render_json(runs, s));
    CHECK(j.at("summary").at("runs") == 3);
    CHECK(j.at("summary").at("rto_ms").at("median") == 11203);
    CHECK(j.at("runs").size() == 3);
    const std::string text = render_text(runs, s);
    CHECK(text.find("3 runs: 3 passed") != std::string::npos);
    CHECK(text.find("RTO                                        3  11.20 s") != std::string::npos);
    const std::string md = render_markdown(runs, s);
    CHECK(md.find("## Run 3: pass") != std::string::npos);
    CHECK(render_report(runs, s, ReportFormat::svg) == render_svg(runs.back()));
}

TEST_CASE("write_report picks the format by extension", "[drills][render]") {
    KillPrimaryDrill drill;
    Report r = drill.analyze();
    char dir_template[] = "/tmp/pgdr-drill-test-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template;
    write_report(dir + "/r.json", r);
    write_report(dir + "/r.svg", r);
    CHECK(read_text_file(dir + "/r.json") == render_json(r));
    CHECK(read_text_file(dir + "/r.svg") == render_svg(r));
    try {
        write_report(dir + "/r.pdf", r);
        FAIL("no exception");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::usage);
        CHECK(std::string(e.what()).find("r.pdf") != std::string::npos);
    }
    std::remove((dir + "/r.json").c_str());
    std::remove((dir + "/r.svg").c_str());
    rmdir(dir.c_str());
}
