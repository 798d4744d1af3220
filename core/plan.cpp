#include "core/plan.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/quote.hpp"

namespace pgdr {

std::string to_string(Stage stage) {
    switch (stage) {
        case Stage::packages:
            return "packages";
        case Stage::certificates:
            return "certificates";
        case Stage::etcd:
            return "etcd";
        case Stage::replication:
            return "replication";
        case Stage::backup:
            return "backup";
        case Stage::patroni:
            return "patroni";
        case Stage::haproxy:
            return "haproxy";
        case Stage::guard:
            return "guard";
        case Stage::monitoring:
            return "monitoring";
        case Stage::verify:
            return "verify";
    }
    return "?";
}

const std::vector<Stage>& all_stages() {
    static const std::vector<Stage> k_stages{
        Stage::packages, Stage::certificates, Stage::etcd,  Stage::replication, Stage::backup,
        Stage::patroni,  Stage::haproxy,      Stage::guard, Stage::monitoring,  Stage::verify};
    return k_stages;
}

std::optional<Stage> parse_stage(const std::string& name) {
    for (Stage s : all_stages()) {
        if (to_string(s) == name) {
            return s;
        }
    }
    return std::nullopt;
}

namespace {
struct Describer {
    std::string operator()(const RunCommand& c) const {
        return "run: " + (c.description.empty() ? shell_join(c.argv) : c.description);
    }
    std::string operator()(const PutFile& f) const {
        std::string out = "put " + f.path + " (" + f.spec.mode + " " +
                          (f.spec.owner.empty() ? "root" : f.spec.owner) + ")";
        return f.description.empty() ? out : out + ": " + f.description;
    }
    std::string operator()(const WaitFor& w) const {
        return "wait: " + (w.description.empty() ? shell_join(w.probe) : w.description);
    }
    std::string operator()(const WaitForCluster& w) const {
        return "wait: " + (w.description.empty() ? cluster_condition(w) : w.description);
    }
};
}  // namespace

std::string cluster_condition(const WaitForCluster& wait) {
    std::string out = "the cluster's assessment has no ";
    for (std::size_t i = 0; i < wait.absent.size(); ++i) {
        out += (i == 0 ? "" : i + 1 == wait.absent.size() ? " or " : ", ") + wait.absent[i];
    }
    out += " finding";
    return wait.member.empty() ? out : out + " about " + wait.member + " or the cluster";
}

std::string describe(const Action& action) {
    return std::visit(Describer{}, action);
}

StagePlan& Plan::stage(Stage s) {
    auto rank = [](Stage x) {
        const auto& all = all_stages();
        return std::find(all.begin(), all.end(), x) - all.begin();
    };
    auto it = std::find_if(stages.begin(), stages.end(),
                           [&](const StagePlan& p) { return p.stage == s; });
    if (it != stages.end()) {
        return *it;
    }
    // Keep the stages in execution order whatever order the planner fills them in.
    auto pos = std::find_if(stages.begin(), stages.end(),
                            [&](const StagePlan& p) { return rank(p.stage) > rank(s); });
    return *stages.insert(pos, StagePlan{s, {}});
}

Step& Plan::add_step(Stage s, std::string name, HostOrder order) {
    auto& sp = stage(s);
    sp.steps.push_back(Step{std::move(name), order, {}});
    return sp.steps.back();
}

Plan Plan::only(Stage s) const {
    Plan out;
    for (const auto& sp : stages) {
        if (sp.stage == s) {
            out.stages.push_back(sp);
        }
    }
    return out;
}

std::size_t Plan::action_count() const {
    std::size_t n = 0;
    for (const auto& sp : stages) {
        for (const auto& step : sp.steps) {
            for (const auto& h : step.hosts) {
                n += h.actions.size();
            }
        }
    }
    return n;
}

std::set<std::string> Plan::hosts() const {
    std::set<std::string> out;
    for (const auto& sp : stages) {
        for (const auto& step : sp.steps) {
            for (const auto& h : step.hosts) {
                out.insert(h.host);
            }
        }
    }
    return out;
}

// ---- line diff ----------------------------------------------------------------------------

namespace {

// Lines keep their '\n' so that "a missing final newline" is a difference like any other.
std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::string::size_type start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        if (nl == std::string::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, nl - start + 1));
        start = nl + 1;
    }
    return lines;
}

enum class Op { equal, remove, insert };
struct Edit {
    Op op;
    std::size_t old_index;  // line in old (equal, remove)
    std::size_t new_index;  // line in new (equal, insert)
};

// Longest common subsequence by dynamic programming: the files pgdr manages are a few hundred
// lines at most, so O(n*m) is fine; beyond k_max_cells the diff falls back to "replace all",
// which is still a correct (if unhelpful) diff.
std::vector<Edit> edit_script(const std::vector<std::string>& a,
                              const std::vector<std::string>& b) {
    constexpr std::size_t k_max_cells = 16u * 1024u * 1024u;
    std::vector<Edit> edits;
    // Trim the common prefix and suffix first: config changes are usually local.
    std::size_t prefix = 0;
    while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) {
        ++prefix;
    }
    std::size_t suffix = 0;
    while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
           a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
        ++suffix;
    }
    for (std::size_t i = 0; i < prefix; ++i) {
        edits.push_back({Op::equal, i, i});
    }
    const std::size_t n = a.size() - prefix - suffix;
    const std::size_t m = b.size() - prefix - suffix;
    if (n * m > k_max_cells) {
        for (std::size_t i = 0; i < n; ++i) {
            edits.push_back({Op::remove, prefix + i, prefix});
        }
        for (std::size_t j = 0; j < m; ++j) {
            edits.push_back({Op::insert, prefix + n, prefix + j});
        }
    } else {
        // lcs[i][j] = LCS length of a[prefix+i..] and b[prefix+j..]
        std::vector<std::vector<unsigned>> lcs(n + 1, std::vector<unsigned>(m + 1, 0));
        for (std::size_t i = n; i-- > 0;) {
            for (std::size_t j = m; j-- > 0;) {
                lcs[i][j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1][j + 1] + 1
                                                           : std::max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        std::size_t i = 0, j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
                edits.push_back({Op::equal, prefix + i, prefix + j});
                ++i;
                ++j;
            } else if (j < m && (i == n || lcs[i][j + 1] > lcs[i + 1][j])) {
                edits.push_back({Op::insert, prefix + i, prefix + j});
                ++j;
            } else {
                edits.push_back({Op::remove, prefix + i, prefix + j});
                ++i;
            }
        }
    }
    for (std::size_t k = 0; k < suffix; ++k) {
        edits.push_back({Op::equal, a.size() - suffix + k, b.size() - suffix + k});
    }
    return edits;
}

std::string range(std::size_t start, std::size_t count) {
    // diff(1) writes the line before the hunk for an empty range.
    std::size_t first = count == 0 ? start : start + 1;
    return std::to_string(first) + (count == 1 ? "" : "," + std::to_string(count));
}

void emit_line(std::string& out, char prefix, const std::string& line) {
    out += prefix;
    out += line;
    if (line.empty() || line.back() != '\n') {
        out += "\n\\ No newline at end of file\n";
    }
}

}  // namespace

std::string unified_diff(const std::string& old_text, const std::string& new_text,
                         const std::string& old_label, const std::string& new_label, int context) {
    if (old_text == new_text) {
        return {};
    }
    const auto a = split_lines(old_text);
    const auto b = split_lines(new_text);
    const auto edits = edit_script(a, b);
    const std::size_t ctx = static_cast<std::size_t>(std::max(0, context));

    std::string out = "--- " + old_label + "\n+++ " + new_label + "\n";
    std::size_t k = 0;
    while (k < edits.size()) {
        // Find the next change; the hunk starts `ctx` lines before it.
        while (k < edits.size() && edits[k].op == Op::equal) {
            ++k;
        }
        if (k == edits.size()) {
            break;
        }
        std::size_t start = k >= ctx ? k - ctx : 0;
        // Extend the hunk while the next change is within 2*ctx equal lines.
        std::size_t end = k;
        while (true) {
            while (end < edits.size() && edits[end].op != Op::equal) {
                ++end;
            }
            std::size_t run = 0;
            while (end + run < edits.size() && edits[end + run].op == Op::equal) {
                ++run;
            }
            if (end + run < edits.size() && run <= 2 * ctx) {
                end += run;
                continue;
            }
            end += std::min(run, ctx);
            break;
        }
        std::size_t old_count = 0, new_count = 0;
        for (std::size_t x = start; x < end; ++x) {
            old_count += edits[x].op != Op::insert;
            new_count += edits[x].op != Op::remove;
        }
        out += "@@ -" + range(edits[start].old_index, old_count) + " +" +
               range(edits[start].new_index, new_count) + " @@\n";
        for (std::size_t x = start; x < end; ++x) {
            switch (edits[x].op) {
                case Op::equal:
                    emit_line(out, ' ', a[edits[x].old_index]);
                    break;
                case Op::remove:
                    emit_line(out, '-', a[edits[x].old_index]);
                    break;
                case Op::insert:
                    emit_line(out, '+', b[edits[x].new_index]);
                    break;
            }
        }
        k = end;
    }
    return out;
}

}  // namespace pgdr
