#include <catch2/catch.hpp>
#include <sstream>

#include "core/plan.hpp"

using pgdr::unified_diff;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        out.push_back(line);
    }
    return out;
}

// Applies a unified diff produced by unified_diff to `old_text` (inputs here always end with a
// newline). Checks every context and removed line against the old text, so a wrong hunk header
// or a wrong line fails the test.
std::string patch(const std::string& old_text, const std::string& diff) {
    auto old_lines = lines_of(old_text);
    auto d = lines_of(diff);
    std::vector<std::string> out;
    std::size_t pos = 0;  // next old line to copy
    for (std::size_t k = 2; k < d.size(); ++k) {
        const auto& l = d[k];
        if (l.rfind("@@ -", 0) == 0) {
            int a = 0, b = 0;
            REQUIRE(std::sscanf(l.c_str(), "@@ -%d", &a) == 1);
            auto comma = l.find(',');
            auto space = l.find(' ', 4);
            bool empty_range = comma != std::string::npos && comma < space &&
                               l.substr(comma + 1, space - comma - 1) == "0";
            (void)b;
            std::size_t start =
                empty_range ? static_cast<std::size_t>(a) : static_cast<std::size_t>(a - 1);
            REQUIRE(start >= pos);
            while (pos < start) {
                out.push_back(old_lines.at(pos++));
            }
        } else if (l[0] == ' ') {
            REQUIRE(old_lines.at(pos) == l.substr(1));
            out.push_back(old_lines.at(pos++));
        } else if (l[0] == '-') {
            REQUIRE(old_lines.at(pos) == l.substr(1));
            ++pos;
        } else if (l[0] == '+') {
            out.push_back(l.substr(1));
        }
    }
    while (pos < old_lines.size()) {
        out.push_back(old_lines[pos++]);
    }
    std::string text;
    for (const auto& l : out) {
        text += l + "\n";
    }
    return text;
}

std::string numbered(int from, int to, const std::string& tag = "line") {
    std::string out;
    for (int i = from; i <= to; ++i) {
        out += tag + " " + std::to_string(i) + "\n";
    }
    return out;
}

}  // namespace

TEST_CASE("unified_diff: equal texts give no diff", "[plan][diff]") {
    CHECK(unified_diff("", "", "a", "b").empty());
    CHECK(unified_diff("x\ny\n", "x\ny\n", "a", "b").empty());
}

TEST_CASE("unified_diff: one changed line with context", "[plan][diff]") {
    std::string old_text = numbered(1, 10);
    std::string new_text = old_text;
    new_text.replace(new_text.find("line 5\n"), 7, "LINE five\n");
    std::string expected =
        "--- old\n+++ new\n"
        "@@ -2,7 +2,7 @@\n"
        " line 2\n line 3\n line 4\n-line 5\n+LINE five\n line 6\n line 7\n line 8\n";
    CHECK(unified_diff(old_text, new_text, "old", "new") == expected);
}

TEST_CASE("unified_diff: creating a file and emptying one", "[plan][diff]") {
    CHECK(unified_diff("", "a\nb\n", "f (absent)", "f (planned)") ==
          "--- f (absent)\n+++ f (planned)\n@@ -0,0 +1,2 @@\n+a\n+b\n");
    CHECK(unified_diff("a\n", "", "o", "n") == "--- o\n+++ n\n@@ -1 +0,0 @@\n-a\n");
}

TEST_CASE("unified_diff: missing final newline is shown", "[plan][diff]") {
    CHECK(unified_diff("a\nb", "a\nb\n", "o", "n") ==
          "--- o\n+++ n\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
}

TEST_CASE("unified_diff: distant changes make separate hunks, close ones merge", "[plan][diff]") {
    std::string old_text = numbered(1, 30);
    std::string far = old_text;
    far.replace(far.find("line 2\n"), 7, "two\n");
    far.replace(far.find("line 25\n"), 8, "twenty-five\n");
    auto d = unified_diff(old_text, far, "o", "n");
    CHECK(d.find("@@ -1,5 +1,5 @@") != std::string::npos);
    CHECK(d.find("@@ -22,7 +22,7 @@") != std::string::npos);

    std::string near = old_text;
    near.replace(near.find("line 10\n"), 8, "ten\n");
    near.replace(near.find("line 15\n"), 8, "fifteen\n");
    auto d2 = unified_diff(old_text, near, "o", "n");
    CHECK(d2.find("@@ -7,12 +7,12 @@") != std::string::npos);
    CHECK(std::count(d2.begin(), d2.end(), '@') == 4);  // one hunk header
}

TEST_CASE("unified_diff: patching the old text with the diff gives the new text", "[plan][diff]") {
    const std::string base = numbered(1, 40);
    std::vector<std::string> variants;
    {
        std::string v = base;  // insertions at the top, the middle and the end
        v = "header\n" + v;
        v.insert(v.find("line 20\n"), "inserted a\ninserted b\n");
        v += "trailer\n";
        variants.push_back(v);
    }
    {
        std::string v = base;  // deletions
        v.erase(v.find("line 1\n"), 7);
        v.erase(v.find("line 17\n"), 16);
        v.erase(v.find("line 40\n"), 8);
        variants.push_back(v);
    }
    variants.push_back(numbered(1, 40, "other"));  // everything replaced
    variants.push_back(numbered(5, 45));           // shifted window
    variants.push_back("");
    for (const auto& v : variants) {
        for (int ctx : {0, 1, 3}) {
            auto d = unified_diff(base, v, "o", "n", ctx);
            CHECK(patch(base, d) == v);
        }
        CHECK(patch(v, unified_diff(v, base, "o", "n")) == base);
    }
}
