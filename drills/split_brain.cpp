// Split-brain detection (issue 5 §4): the drill exists to catch a second primary that accepted
// writes, so every kind of evidence is looked for and reported. The case it was built for: after
// a partition heals, Patroni 3.0.2 (Debian 12) may let the old leader overwrite the new leader's
// key (fixed upstream by Patroni PR #2689); both then promoted to the same timeline number from
// different positions, no rewind runs, and the writes the interim leader acknowledged are lost.
#include <algorithm>
#include <map>
#include <set>

#include "drills/analysis.hpp"
#include "drills/analysis_facts.hpp"
#include "drills/display.hpp"

namespace pgdr::drills {

namespace {

struct Interval {
    Millis from = 0;
    Millis to = 0;  // exclusive
};

// Where the node's samples say it is a writable primary. A sample counts until the next
// sample of the node or for `validity` ms; a sample without pg_is_in_recovery() says nothing.
std::vector<Interval> primary_intervals(const std::vector<SampleFact>& samples, Millis validity) {
    std::vector<Interval> out;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const auto& s = samples[i];
        if (!s.sample.in_recovery.has_value() || *s.sample.in_recovery) {
            continue;
        }
        Millis end = s.at + validity;
        if (i + 1 < samples.size()) {
            end = std::min(end, samples[i + 1].at);
        }
        if (!out.empty() && out.back().to >= s.at) {
            out.back().to = std::max(out.back().to, end);
        } else {
            out.push_back({s.at, end});
        }
    }
    return out;
}

std::int64_t acks_by(const Facts& facts, const std::string& backend, Millis from, Millis to) {
    std::int64_t n = 0;
    for (const auto& a : facts.acks) {
        if (a.backend == backend && a.at >= from && a.at <= to) {
            ++n;
        }
    }
    return n;
}

void find_two_primaries(const Facts& facts, Millis validity, SplitBrainFindings& out) {
    std::map<std::string, std::vector<Interval>> intervals;
    for (const auto& [node, samples] : facts.samples) {
        intervals[node] = primary_intervals(samples, validity);
    }
    for (auto a = intervals.begin(); a != intervals.end(); ++a) {
        for (auto b = std::next(a); b != intervals.end(); ++b) {
            for (const auto& ia : a->second) {
                for (const auto& ib : b->second) {
                    Millis from = std::max(ia.from, ib.from);
                    Millis to = std::min(ia.to, ib.to);
                    if (to <= from) {
                        continue;
                    }
                    auto on_a = acks_by(facts, a->first, from, to);
                    auto on_b = acks_by(facts, b->first, from, to);
                    std::string what = a->first + " and " + b->first +
                                       " were both not in recovery for " +
                                       format_duration(to - from) + " from " + format_offset(from);
                    if (on_a > 0 && on_b > 0) {
                        out.evidence.push_back({"two_writable_primaries", from,
                                                what + "; writes acknowledged by both (" +
                                                    std::to_string(on_a) + " by " + a->first +
                                                    ", " + std::to_string(on_b) + " by " +
                                                    b->first + ")"});
                    } else {
                        out.warnings.push_back(what + " (no write acknowledged by both)");
                    }
                }
            }
        }
    }
}

void find_alternating_backends(const Facts& facts, SplitBrainFindings& out) {
    std::vector<std::string> order;  // backends in the order they took over
    std::set<std::string> left;      // backends that were replaced by another
    for (const auto& a : facts.acks) {
        if (a.backend.empty() || (!order.empty() && order.back() == a.backend)) {
            continue;
        }
        if (!order.empty()) {
            left.insert(order.back());
        }
        order.push_back(a.backend);
        if (left.count(a.backend) != 0) {
            std::string chain;
            for (const auto& b : order) {
                chain += (chain.empty() ? "" : " -> ") + b;
            }
            out.evidence.push_back({"alternating_write_backends", a.at,
                                    "writes acknowledged by " + chain + ": " + a.backend +
                                        " accepted writes again after another node took over"});
            return;
        }
    }
}

void find_shared_timeline(const Facts& facts, Millis promoted_at, SplitBrainFindings& out) {
    // After the promotion only the new leader may be a primary; two primaries on one timeline
    // id is the flip-back's signature (both promoted to the same number from different WAL
    // positions).
    std::map<int, std::map<std::string, Millis>> primaries_by_timeline;
    for (const auto& [node, samples] : facts.samples) {
        for (const auto& s : samples) {
            if (s.at < promoted_at || !s.sample.timeline || !s.sample.in_recovery ||
                *s.sample.in_recovery) {
                continue;
            }
            primaries_by_timeline[*s.sample.timeline].emplace(node, s.at);
        }
    }
    for (const auto& [tl, nodes] : primaries_by_timeline) {
        if (nodes.size() < 2) {
            continue;
        }
        std::string names;
        Millis last = 0;
        for (const auto& [node, at] : nodes) {
            names += (names.empty() ? "" : ", ") + node;
            last = std::max(last, at);
        }
        out.evidence.push_back(
            {"same_timeline_two_primaries", last,
             "timeline " + std::to_string(tl) + " had more than one primary: " + names});
    }
}

void check_post_timelines(const PostCheck& post, SplitBrainFindings& out) {
    if (!post.histories_consistent) {
        out.evidence.push_back({"histories_inconsistent", std::nullopt,
                                "the members' timeline histories disagree with the leader's"});
    }
    auto leader = post.timelines.find(post.leader);
    if (leader == post.timelines.end()) {
        out.warnings.push_back("post-check: no timeline for the leader '" + post.leader +
                               "'; timelines not compared");
        return;
    }
    for (const auto& [node, tl] : post.timelines) {
        if (tl != leader->second) {
            out.evidence.push_back({"timelines_inconsistent", std::nullopt,
                                    node + " is on timeline " + std::to_string(tl) +
                                        ", the leader " + post.leader + " on timeline " +
                                        std::to_string(leader->second)});
        }
    }
}

}  // namespace

SplitBrainFindings find_split_brain(const Facts& facts, std::optional<Millis> promoted_at,
                                    const PostCheck* post_check, Millis sample_validity_ms) {
    SplitBrainFindings out;
    find_two_primaries(facts, sample_validity_ms, out);
    find_alternating_backends(facts, out);
    if (promoted_at) {
        find_shared_timeline(facts, *promoted_at, out);
    }
    if (post_check != nullptr) {
        check_post_timelines(*post_check, out);
    }
    return out;
}

}  // namespace pgdr::drills
