#!/usr/bin/env python3
"""The manual agrees with the CLI: every subcommand has a page, every option is in it.

Usage: test_man_pages.py PGDR_BINARY MAN_DIR

Walks the real binary's help (`pgdr help`, `pgdr help lab`, `pgdr help lab up`, ...) and checks:
  - each subcommand, nested ones included, has a page (PAGE_OF below is the one mapping) that
    names it, and every option of that subcommand (long and short) appears in that page;
    the global options appear in pgdr.1;
  - a subcommand documented on another family's page is listed in that page's NAME line, so
    that `man pgdr-failover` finds it once mandb has indexed the pages;
  - every page is some subcommand's page (section 1) or a file format (section 5), its .TH
    matches its file name, the SEE ALSO of pgdr.1 lists every other page, and every pgdr-X(N)
    cross-reference names a page that exists;
  - every page renders without a warning, with groff (-t -ww) and with man-db (--warnings).
Options are looked for in the groff source with font escapes dropped and \\- read as -.
Prints one line per problem, naming the page and the subcommand or option, and exits 1.
"""

import os
import re
import shutil
import subprocess
import sys

# Which page documents a subcommand: man/pgdr-FAMILY.1 for the top-level subcommand FAMILY and
# everything under it (`lab up` -> pgdr-lab.1), except these top-level subcommands, which share
# another family's page. This is the only place the mapping is written down.
SHARED_PAGES = {
    "help": "pgdr.1",  # help on the CLI itself: pgdr(1) describes it with --help
    "check": "pgdr-exec.1",  # preflight of the hosts: same host selection as exec
    "failover": "pgdr-switchover.1",  # leader changes and replica rebuilds through Patroni
    "reinit": "pgdr-switchover.1",
}

# Options every subcommand repeats; pgdr.1 documents them once, with the global options.
PER_SUBCOMMAND_HELP = {"-h", "--help"}

PROBLEMS = []
COUNTS = {"commands": 0, "options": 0}


def problem(text):
    PROBLEMS.append(text)


def page_of(path):
    """The man page file name for a subcommand path such as ("lab", "up"); () is pgdr itself."""
    if not path:
        return "pgdr.1"
    return SHARED_PAGES.get(path[0], "pgdr-%s.1" % path[0])


def command_name(path):
    return " ".join(("pgdr",) + tuple(path))


def parse_help(text):
    """Option names and subcommand names of one CLI11 help screen."""
    options, subcommands = [], []
    section = None
    for line in text.splitlines():
        header = re.match(r"^(\S[^:]*):\s*$", line)
        if header:
            section = header.group(1)
            continue
        if section is None or not line.startswith("  ") or line.startswith("   "):
            continue  # usage and footer lines, and wrapped descriptions
        first = line.split()[0]
        if section == "Subcommands":
            subcommands.append(first)
        elif first.startswith("-"):  # any option group; positionals do not start with -
            options.extend(n for n in first.split(",") if n.startswith("-"))
    return options, subcommands


def help_of(pgdr, path):
    run = subprocess.run([pgdr, "help", *path], capture_output=True, text=True, timeout=30)
    if run.returncode != 0:
        problem("`pgdr help %s` exited %d: %s" % (" ".join(path), run.returncode,
                                                 run.stderr.strip()))
        return [], []
    return parse_help(run.stdout)


def walk(pgdr, path=()):
    """(path, options) for pgdr itself and every subcommand below it, depth first."""
    options, subcommands = help_of(pgdr, path)
    yield path, options
    for sub in subcommands:
        yield from walk(pgdr, path + (sub,))


def groff_text(source):
    """The words of a page: comments, request names, font changes and quoting removed."""
    lines = [l for l in source.splitlines() if not re.match(r"^[.']\s*\\\"", l)]
    text = "\n".join(lines)
    text = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", text)
    text = text.replace("\\-", "-").replace("\\&", "").replace("\\%", "").replace("\\(aq", "'")
    text = re.sub(r"(?m)^[.'][A-Za-z]+", " ", text)
    text = text.replace('"', " ")
    return re.sub(r"\s+", " ", text)


def bold_text(source):
    """The words a page sets in bold or as headings: `.B up`, `.SS pgdr ovh check`, \\fBup\\fR."""
    parts = re.findall(r"(?m)^\.(?:B|BR|RB|BI|IB|SS|SH)\s+(.*)$", source)
    parts += re.findall(r"\\fB(.*?)\\f[RPI]", source)
    return groff_text("\n".join(parts))


def mentions(text, word):
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), text) is not None


def section(source, name):
    """The source lines of one .SH section."""
    m = re.search(r"(?ms)^\.SH \"?%s\"?\s*$(.*?)(?=^\.SH |\Z)" % re.escape(name), source)
    return m.group(1) if m else ""


def check_pages_against_cli(pgdr, pages):
    commands = list(walk(pgdr))
    top_level = [p for p, _ in commands if len(p) == 1]
    if len(top_level) < 10 or not commands[0][1]:
        problem("could not read the subcommands and options from `pgdr help` "
                "(found %d subcommands): has the help format changed?" % len(top_level))
    used_pages = set()
    for path, options in commands:
        page = page_of(path)
        used_pages.add(page)
        name = command_name(path)
        if page not in pages:
            problem("man/%s: missing: `%s` has no page (see SHARED_PAGES in %s)"
                    % (page, name, os.path.basename(__file__)))
            continue
        text = pages[page]["text"]
        phrase = r"(?<![\w-])%s(?![\w-])" % r"\s+".join(map(re.escape, path))
        if path and not re.search(phrase, text) and not mentions(pages[page]["bold"], path[-1]):
            problem("man/%s: `%s` is not described (neither '%s' nor a bold '%s' appears)"
                    % (page, name, " ".join(path), path[-1]))
        if len(path) == 1 and page != "pgdr.1" and page != "pgdr-%s.1" % path[0]:
            name_line = groff_text(section(pages[page]["source"], "NAME"))
            if not mentions(name_line.split(" - ")[0], "pgdr-" + path[0]):
                problem("man/%s: the NAME section does not list pgdr-%s, which this page "
                        "documents" % (page, path[0]))
        COUNTS["commands"] += 1
        for opt in options:
            if path and opt in PER_SUBCOMMAND_HELP:
                continue
            COUNTS["options"] += 1
            if not mentions(text, opt):
                problem("man/%s: option %s of `%s` is not documented" % (page, opt, name))
    for page in sorted(pages):
        if page.endswith(".1") and page not in used_pages:
            problem("man/%s: no subcommand maps to this page (stale page, or add it to "
                    "SHARED_PAGES)" % page)


def check_page_structure(pages):
    for page, info in sorted(pages.items()):
        stem, sect = page.rsplit(".", 1)
        th = re.search(r"(?m)^\.TH\s+(\S+)\s+(\S+)", info["source"])
        if not th or th.group(1) != stem.upper() or th.group(2) != sect:
            problem("man/%s: .TH should start with '%s %s'" % (page, stem.upper(), sect))
        refs = set(re.findall(r"\b(pgdr(?:-[a-z]+)*)\s*\((\d)\)", info["text"]))
        for ref, ref_sect in sorted(refs):
            if "%s.%s" % (ref, ref_sect) not in pages:
                problem("man/%s: refers to %s(%s), which has no page" % (page, ref, ref_sect))
    if "pgdr.1" in pages:
        see_also = groff_text(section(pages["pgdr.1"]["source"], "SEE ALSO"))
        for page in sorted(pages):
            stem, sect = page.rsplit(".", 1)
            if page != "pgdr.1" and not re.search(r"%s\s*\(%s\)" % (re.escape(stem), sect),
                                                  see_also):
                problem("man/pgdr.1: SEE ALSO does not list %s(%s)" % (stem, sect))


def check_rendering(man_dir, pages):
    for tool, package in (("groff", "groff-base"), ("man", "man-db")):
        if shutil.which(tool) is None:
            problem("%s is not installed (Debian package %s, see scripts/install-deps.sh)"
                    % (tool, package))
            return
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80", MAN_KEEP_FORMATTING="")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    for page in sorted(pages):
        path = os.path.join(man_dir, page)
        # -t: through tbl, as man-db does for a page with a table (.TS).
        run = subprocess.run(["groff", "-t", "-man", "-ww", "-z", path], capture_output=True,
                             text=True, timeout=60, env=env)
        out = (run.stdout + run.stderr).strip()
        if out or run.returncode != 0:
            problem("man/%s: groff -t -man -ww -z warns (exit %d):\n    %s"
                    % (page, run.returncode, out.replace("\n", "\n    ")))
        run = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                             timeout=60, env=env)
        if run.stderr.strip() or run.returncode != 0:
            problem("man/%s: man --warnings -l warns (exit %d):\n    %s"
                    % (page, run.returncode, run.stderr.strip().replace("\n", "\n    ")))
        elif not run.stdout.strip():
            problem("man/%s: man -l rendered nothing" % page)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: test_man_pages.py PGDR_BINARY MAN_DIR")
    pgdr, man_dir = sys.argv[1], sys.argv[2]
    pages = {}
    for page in sorted(os.listdir(man_dir)):
        if re.match(r"^pgdr.*\.[15]$", page):
            with open(os.path.join(man_dir, page), encoding="utf-8") as f:
                source = f.read()
            pages[page] = {"source": source, "text": groff_text(source),
                           "bold": bold_text(source)}
    check_pages_against_cli(pgdr, pages)
    check_page_structure(pages)
    check_rendering(man_dir, pages)
    for p in PROBLEMS:
        print("FAIL " + p)
    if PROBLEMS:
        print("%d problem(s) in the manual (%s)" % (len(PROBLEMS), man_dir))
        return 1
    print("ok   %d pages agree with `pgdr help` (%d commands, %d options) and render without "
          "warnings" % (len(pages), COUNTS["commands"], COUNTS["options"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
