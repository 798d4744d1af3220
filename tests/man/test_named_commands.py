#!/usr/bin/env python3
"""Every pgdr command the project names to an operator exists in the CLI.

Usage: test_named_commands.py PGDR_BINARY SOURCE_DIR

Reads the subcommand tree of the real binary (`pgdr help`, walked as test_man_pages.py does),
then checks each place that tells an operator to run pgdr:
  - the shipped runbooks (runbooks/*.yaml): every `pgdr:` step's action is one the runbook
    executor knows and stands for a real subcommand (ACTION_COMMANDS below), and every command
    their messages, descriptions and confirmations name ("(pgdr status shows ...)", "see pgdr
    status", "run pgdr switchover");
  - the C++ string literals (hints, errors, help texts; adjacent literals joined) and README.md:
    every `pgdr ...` in backticks, and README's example lines in ``` blocks.
A named command is the words after "pgdr" and its global options: the first must be a top-level
subcommand and, when that subcommand has subcommands of its own, the next word one of them.
Prints one line per problem (file:line and the text) and exits 1.
"""

import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_man_pages import walk  # noqa: E402  (the one reader of `pgdr help`)

# Global options of pgdr (pgdr.1), and which of them take a value.
GLOBAL_WITH_VALUE = {"-i", "--inventory", "--output"}

# Runbook actions (runbook/parser.cpp action_specs) -> the subcommand each stands for. status and
# verify read the cluster as `pgdr status` does; the others run the subcommand (in this process
# for switchover/failover/reinit, as a child pgdr for the rest: runbook/pgdr_argv.cpp).
ACTION_COMMANDS = {
    "switchover": ("switchover",),
    "failover": ("failover",),
    "reinit": ("reinit",),
    "status": ("status",),
    "verify": ("status",),
    "drill": ("drill",),
    "bootstrap": ("bootstrap",),
    "certs_status": ("certs", "status"),
    "certs_rotate": ("certs", "rotate"),
    "backup_list": ("backup", "list"),
    "backup_check": ("backup", "check"),
    "restore_cluster": ("restore",),
    "dr_promote": ("dr", "promote"),
    "dr_rebuild": ("dr", "rebuild"),
    "dr_switchover": ("dr", "switchover"),
}

SOURCE_FOLDERS = ["cmd", "core", "drills", "guard", "lab", "monitoring", "net", "ovh", "pg",
                  "pki", "runbook", "twin"]

PROBLEMS = []


def command_tree(pgdr):
    """{top-level subcommand: set of its subcommands}."""
    tree = {}
    for path, _ in walk(pgdr):
        if len(path) == 1:
            tree.setdefault(path[0], set())
        elif len(path) >= 2:
            tree.setdefault(path[0], set()).add(path[1])
    return tree


def check_words(words, tree, where, text):
    """words: what follows "pgdr". Records a problem when they name no subcommand."""
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in GLOBAL_WITH_VALUE else 1
    if i >= len(words):
        return 0  # pgdr alone, or only options: nothing named
    word = words[i]
    if not re.fullmatch(r"[a-z][a-z0-9-]*", word):
        return 0  # a placeholder (SUBCOMMAND, <cmd>, ...)
    if word not in tree:
        PROBLEMS.append("%s: `pgdr %s` is not a pgdr subcommand (in: %s)" % (where, word, text))
        return 1
    subs = tree[word]
    if subs and word != "help" and i + 1 < len(words):
        nxt = words[i + 1]
        if re.fullmatch(r"[a-z][a-z0-9-]*", nxt) and nxt not in subs:
            PROBLEMS.append("%s: `pgdr %s %s` is not a pgdr subcommand; `pgdr %s` has: %s (in: %s)"
                            % (where, word, nxt, word, ", ".join(sorted(subs)), text))
    return 1


def words_after_pgdr(fragment):
    """The words of a command line that starts with pgdr, up to the end of the fragment."""
    words = re.split(r"\s+", fragment.strip())
    return words[1:] if words and words[0] == "pgdr" else []


def backticked(text):
    return [m for m in re.findall(r"`(pgdr(?:\s[^`]*)?)`", text)]


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def check_runbooks(source_dir, tree):
    checked = 0
    files = sorted(glob.glob(os.path.join(source_dir, "runbooks", "*.yaml")))
    if not files:
        PROBLEMS.append("no runbooks found under %s/runbooks" % source_dir)
    # A step's `pgdr:` mapping, block or flow style: "pgdr:\n  action: X" or "pgdr: {action: X".
    step = re.compile(r"(?m)^[ \t-]*pgdr:[ \t]*(?:\{[ \t]*action:[ \t]*([\w-]+)"
                      r"|\n[ \t]+action:[ \t]*([\w-]+))")
    for path in files:
        rel = os.path.relpath(path, source_dir)
        text = open(path, encoding="utf-8").read()
        for m in step.finditer(text):
            action = m.group(1) or m.group(2)
            where = "%s:%d" % (rel, line_of(text, m.start()))
            command = ACTION_COMMANDS.get(action)
            if command is None:
                PROBLEMS.append("%s: action %r is not a runbook action (%s)"
                                % (where, action, ", ".join(sorted(ACTION_COMMANDS))))
                continue
            checked += check_words(list(command), tree, where, "action: %s" % action)
        if "pgdr:" in text and not step.search(text):
            PROBLEMS.append("%s: has pgdr steps but none was read: has the format changed?" % rel)
        # Prose: "(pgdr status shows ...)", "see pgdr status", "use pgdr switchover", backticks.
        for m in re.finditer(r"(?:\(|\b(?:see|use|run|try|then)\s+)(pgdr(?:\s+[-\w]+){1,4})",
                             text):
            where = "%s:%d" % (rel, line_of(text, m.start()))
            checked += check_words(words_after_pgdr(m.group(1)), tree, where, m.group(0))
        for m in re.finditer(r"`(pgdr(?:\s[^`]*)?)`", text):
            where = "%s:%d" % (rel, line_of(text, m.start()))
            checked += check_words(words_after_pgdr(m.group(1)), tree, where, m.group(0))
    return checked


def string_literals(source):
    """(line, text) of each run of adjacent C++ string literals, outside // comments."""
    out = []
    run, run_line = None, 0
    token = re.compile(r'//[^\n]*|/\*.*?\*/|R"([^(]*)\((.*?)\)\1"|"((?:[^"\\\n]|\\.)*)"|\S',
                       re.S)
    for m in token.finditer(source):
        if m.group(0).startswith("//") or m.group(0).startswith("/*"):
            continue
        literal = m.group(2) if m.group(0).startswith('R"') else m.group(3)
        if literal is None:
            if run is not None:
                out.append((run_line, run))
                run = None
            continue
        if run is None:
            run, run_line = "", line_of(source, m.start())
        run += literal.replace('\\"', '"').replace("\\n", "\n")
    if run is not None:
        out.append((run_line, run))
    return out


def check_sources(source_dir, tree):
    checked = 0
    for folder in SOURCE_FOLDERS:
        for path in sorted(glob.glob(os.path.join(source_dir, folder, "**", "*.[ch]pp"),
                                     recursive=True)):
            rel = os.path.relpath(path, source_dir)
            source = open(path, encoding="utf-8", errors="replace").read()
            for line, text in string_literals(source):
                for fragment in backticked(text):
                    checked += check_words(words_after_pgdr(fragment), tree,
                                           "%s:%d" % (rel, line), "`%s`" % fragment)
    return checked


def check_readme(source_dir, tree):
    checked = 0
    path = os.path.join(source_dir, "README.md")
    text = open(path, encoding="utf-8").read()
    for m in re.finditer(r"`(pgdr(?:\s[^`]*)?)`", text):
        checked += check_words(words_after_pgdr(m.group(1)), tree,
                               "README.md:%d" % line_of(text, m.start()), m.group(0))
    for block in re.finditer(r"(?ms)^```[^\n]*\n(.*?)^```", text):
        start = line_of(text, block.start(1))
        for k, line in enumerate(block.group(1).splitlines()):
            line = re.sub(r"^\s*\$\s+", "", line).strip()
            if line.startswith("pgdr "):
                checked += check_words(words_after_pgdr(line.split("#")[0]), tree,
                                       "README.md:%d" % (start + k), line)
    return checked


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    pgdr, source_dir = sys.argv[1], sys.argv[2]
    tree = command_tree(pgdr)
    if len(tree) < 10:
        print("could not read the subcommands from `pgdr help` (found %d)" % len(tree))
        return 1
    counts = {
        "runbooks": check_runbooks(source_dir, tree),
        "sources": check_sources(source_dir, tree),
        "README": check_readme(source_dir, tree),
    }
    for p in PROBLEMS:
        print(p)
    print("named commands checked: %s; %d problem(s)"
          % (", ".join("%s %d" % kv for kv in counts.items()), len(PROBLEMS)))
    if min(counts.values()) == 0:
        print("found no named command in one of the sources: has their format changed?")
        return 1
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
