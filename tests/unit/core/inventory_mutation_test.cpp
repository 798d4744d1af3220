// Mutated inventories through the parser: each one either parses or is refused with an
// InventoryError that has at least one diagnostic. Anything else (another exception, a crash)
// fails. The mutations are deterministic (fixed seed), so a failure is reproducible; the
// libFuzzer target in tests/fuzz explores the same property at random.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/files.hpp"
#include "core/inventory.hpp"

namespace {

enum class Outcome { parsed, refused };

Outcome feed(const std::string& text) {
    try {
        pgdr::parse_inventory(text, "mutant.yaml");
        return Outcome::parsed;
    } catch (const pgdr::InventoryError& e) {
        REQUIRE_FALSE(e.diagnostics().empty());
        for (const auto& d : e.diagnostics()) {
            CHECK(d.line >= 0);
            CHECK(d.column >= 0);
            CHECK_FALSE(d.message.empty());
        }
        return Outcome::refused;
    }
    // Any other exception propagates and fails the test case.
}

std::string example(const char* name) {
    auto text = pgdr::read_text_file(std::string(PGDR_SOURCE_DIR) + "/inventories/" + name);
    REQUIRE(text);
    return *text;
}

std::vector<std::string> mutants(const std::string& seed_text) {
    std::vector<std::string> out;
    // Truncated at a few places, including inside a flow mapping and mid-word.
    for (size_t cut : {size_t{1}, seed_text.size() / 7, seed_text.size() / 3, seed_text.size() / 2,
                       seed_text.size() - 5}) {
        out.push_back(seed_text.substr(0, cut));
    }
    // Random bytes replaced, with the whole byte range (NUL, controls, high bytes).
    std::mt19937 rng(20240229);
    for (int round = 0; round < 6; ++round) {
        std::string m = seed_text;
        std::uniform_int_distribution<size_t> where(0, m.size() - 1);
        std::uniform_int_distribution<int> byte(0, 255);
        for (int k = 0; k < 1 + round * 3; ++k) {
            m[where(rng)] = static_cast<char>(byte(rng));
        }
        out.push_back(m);
    }
    // Structural characters sprinkled in.
    {
        std::string m = seed_text;
        const std::string structural = "{}[]:,-&*!|>'\"%@`#?";
        std::uniform_int_distribution<size_t> where(0, m.size() - 1);
        std::uniform_int_distribution<size_t> pick(0, structural.size() - 1);
        for (int k = 0; k < 12; ++k) {
            m[where(rng)] = structural[pick(rng)];
        }
        out.push_back(m);
    }
    // Lines shuffled.
    {
        std::vector<std::string> lines;
        size_t start = 0;
        for (size_t nl; (nl = seed_text.find('\n', start)) != std::string::npos; start = nl + 1) {
            lines.push_back(seed_text.substr(start, nl - start + 1));
        }
        std::shuffle(lines.begin(), lines.end(), rng);
        std::string m;
        for (const auto& l : lines) {
            m += l;
        }
        out.push_back(m);
    }
    return out;
}

}  // namespace

TEST_CASE("inventory mutants: parse or InventoryError, nothing else", "[inventory][fuzz]") {
    std::vector<std::string> corpus;
    for (const char* name : {"lab.yaml", "ovh.yaml"}) {
        auto text = example(name);
        REQUIRE(feed(text) == Outcome::parsed);
        auto more = mutants(text);
        corpus.insert(corpus.end(), more.begin(), more.end());
    }
    // Hand-made hostile shapes.
    const std::string hosts_line = "  - {name: pg1, address: 198.18.0.11, services: [postgres]}\n";
    corpus.push_back("cluster: " + std::string(2000, '[') + std::string(2000, ']'));
    corpus.push_back("cluster: " + std::string(2000, '{'));
    corpus.push_back(std::string(3000, '-') + " x\n");
    {
        std::string nested;
        for (int i = 0; i < 800; ++i) {
            nested += std::string(static_cast<size_t>(i), ' ') + "- \n";
        }
        corpus.push_back("hosts:\n" + nested);
    }
    corpus.push_back("hosts:\n" + hosts_line + std::string(1, '\0') + hosts_line);
    corpus.push_back("cluster: lab\nnetwork: {cidr: " + std::string(100000, '9') + "}\n");
    corpus.push_back("cluster: lab\npatroni: {ttl: 99999999999999999999999999}\n");
    corpus.push_back(
        "a: &a [x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\n"
        "hosts: [*c, *c, *c, *c]\n");
    corpus.push_back("? [complex, key]\n: value\ncluster: lab\n");
    corpus.push_back("!!binary cluster: lab\n%YAML 1.2\n---\n");
    corpus.push_back("cluster: lab\n---\ncluster: other\n");
    corpus.push_back(
        "\xef\xbb\xbf"
        "cluster: lab\n\xff\xfe\n");
    corpus.push_back("hosts:\n  - name: pg1\n    ssh: [user, root]\n    services: {postgres: 1}\n");
    corpus.push_back("hosts: [{services: [[postgres]]}, {name: [x]}, 7, ~, \"\"]\n");
    corpus.push_back("network: {ssh_allowed_cidrs: {a: b}, cidr: ~}\nprovider: [ovh]\n");
    corpus.push_back("provider: {type: ovh, ovh: {regions: [[GRA11]], project_id: {}}}\n");

    int parsed = 0;
    int refused = 0;
    for (const auto& text : corpus) {
        INFO("input of " << text.size() << " bytes: " << text.substr(0, 120));
        (feed(text) == Outcome::parsed ? parsed : refused)++;
    }
    CHECK(corpus.size() >= 20);
    CHECK(refused > 0);
    CHECK(parsed + refused == static_cast<int>(corpus.size()));
}

TEST_CASE("inventory mutants: the fuzz seed corpus", "[inventory][fuzz]") {
    const std::string dir = std::string(PGDR_SOURCE_DIR) + "/tests/fuzz/corpus/";
    for (const char* name : {"minimal.yaml", "sections.yaml", "full.json"}) {
        auto text = pgdr::read_text_file(dir + name);
        REQUIRE(text);
        INFO(name);
        CHECK(feed(*text) == Outcome::parsed);
    }
    auto hostile = pgdr::read_text_file(dir + "hostile.yaml");
    REQUIRE(hostile);
    CHECK(feed(*hostile) == Outcome::refused);
}
