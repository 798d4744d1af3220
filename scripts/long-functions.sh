#!/usr/bin/env bash
# Lists the C++ functions longer than a limit (default 100 lines), longest first:
#   scripts/long-functions.sh [--limit N] [--count] [FOLDER...]
# FOLDER defaults to every source folder of pgdr (tests included). --count prints only how many.
#
# A brace-counting heuristic, not a parser: strings, character literals and comments are blanked
# out, then a '{' that opens at namespace or class level after a ')' (with nothing in between
# but qualifiers such as const, noexcept, override, '-> type' or a constructor's initialiser
# list) starts a function; it ends at its matching '}'. Lambdas and local classes count as part
# of the function that holds them. The length runs from the line of the name to the closing
# brace, both included.
set -euo pipefail
cd "$(dirname "$0")/.."

limit=100
count_only=0
folders=()
while (($#)); do
    case "$1" in
        --limit)
            limit="$2"
            shift 2
            ;;
        --count)
            count_only=1
            shift
            ;;
        -h | --help)
            sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            folders+=("$1")
            shift
            ;;
    esac
done
if ((${#folders[@]} == 0)); then
    folders=(cmd core drills guard lab monitoring net ovh pg runbook twin tests)
fi

find "${folders[@]}" -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) 2>/dev/null |
    sort |
    python3 -c "$(
        cat <<'PY'
import re
import sys

limit, count_only = int(sys.argv[1]), sys.argv[2] == "1"


def blank(text):
    """Strings, chars and comments replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            k = text.find("(", i + 2)
            delim = text[i + 2:k]
            j = text.find(")" + delim + '"', k)
            j = n if j < 0 else j + len(delim) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum() and text[i - 1:i + 2] != "u8'":
                # digit separator (1'000'000)
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i))
            i = j
        elif c == "#" and (i == 0 or text[i - 1] == "\n"):
            # preprocessor line (with continuations)
            j = i
            while True:
                k = text.find("\n", j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] != "\\":
                    break
                j = k + 1
            out.append(re.sub(r"[^\n]", " ", text[i:k]))
            i = k
        else:
            out.append(c)
            i += 1
    return "".join(out)


CONTROL = re.compile(r"\b(if|for|while|switch|catch|do|else|try)\s*$")
TAIL = re.compile(
    r"^\)\s*(const|noexcept(\s*\([^)]*\))?|override|final|volatile|&&?|\s|->\s*[\w:<>,\s*&]+)*$"
)


def opens_function(before):
    """`before` is the text since the last ';', '{' or '}' at this level."""
    s = before.strip()
    if "(" not in s or ")" not in s:
        return False
    if re.match(r"^(namespace|class|struct|enum|union|extern)\b", s):
        return False
    if re.search(r"=\s*$", s) or re.search(r"\[[^\]]*\]\s*\([^)]*\)[^(]*$", s) and "operator" not in s:
        return False
    # Constructor initialiser list: "X::X(...) : a(b), c{d}" is cut at the ':'.
    parts = re.split(r"\)\s*:(?!:)", s, maxsplit=1)
    head = parts[0] + ")" if len(parts) == 2 else s
    close = head.rfind(")")
    if close < 0 or not TAIL.match(head[close:]):
        return False
    open_paren = head.find("(")
    name_part = head[:open_paren].rstrip()
    if CONTROL.search(name_part) or not name_part:
        return False
    return re.search(r"[\w~>\]=!<+\-*/%^&|]$", name_part) is not None


rows = []
for path in sys.stdin.read().split():
    text = blank(open(path, encoding="utf-8", errors="replace").read())
    line = 1
    # stack of scope kinds: "ns" (namespace/class/brace-init), "fn" (function body), "in"
    stack = []
    since = []  # text since last ; { } at this level
    since_line = 1
    fn_start = fn_name = None
    for ch in text:
        if ch == "\n":
            line += 1
        in_fn = any(k == "fn" for k in stack)
        if ch == "{":
            before = "".join(since)
            if not in_fn and opens_function(before):
                stack.append("fn")
                # The name's line: the first non-blank line of `before`.
                lead = len(before) - len(before.lstrip())
                fn_start = since_line + before[:lead].count("\n")
                m = re.search(r"([~\w:]+(?:<[^()]*>)?|operator\s*[^\s(]+)\s*\(", before)
                fn_name = m.group(1) if m else "?"
            else:
                stack.append("in" if in_fn else "ns")
            since, since_line = [], line
        elif ch == "}":
            kind = stack.pop() if stack else "ns"
            if kind == "fn" and fn_start is not None:
                length = line - fn_start + 1
                if length > limit:
                    rows.append((length, path, fn_start, fn_name))
                fn_start = None
            since, since_line = [], line
        elif ch == ";":
            since, since_line = [], line
        else:
            if not since and ch.isspace():
                if ch == "\n":
                    since_line = line
                continue
            if not since:
                since_line = line
            since.append(ch)

rows.sort(key=lambda r: (-r[0], r[1], r[2]))
if count_only:
    print(len(rows))
else:
    for length, path, start, name in rows:
        print(f"{length:5d}  {path}:{start}  {name}")
    print(f"{len(rows)} functions over {limit} lines")
PY
    )" "$limit" "$count_only"
