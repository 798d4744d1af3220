#!/usr/bin/env bash
# `cmake --install` into a temporary prefix puts the binary, every man page and both completion
# scripts where they belong, and the scripts are what the installed binary generates now.
#
# Usage: test_install.sh CMAKE BUILD_DIR SOURCE_DIR ZSH_COMPLETION_DIR
# (ZSH_COMPLETION_DIR relative to the prefix, as PGDR_ZSH_COMPLETION_DIR in cmd/CMakeLists.txt)
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: $0 CMAKE BUILD_DIR SOURCE_DIR ZSH_COMPLETION_DIR" >&2
  exit 2
fi
cmake_bin=$1 build=$2 src=$3 zsh_dir=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
failures=0
ok() { echo "ok   $*"; }
fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}

if ! "$cmake_bin" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1; then
  cat "$work/install.log"
  echo "FAIL cmake --install $build --prefix $prefix"
  exit 1
fi
ok "cmake --install into $prefix"

pgdr=$prefix/bin/pgdr
if [ -x "$pgdr" ] && "$pgdr" --version >/dev/null; then
  ok "bin/pgdr runs"
else
  fail "bin/pgdr is missing or does not run"
fi

for page in "$src"/man/*.[15]; do
  name=$(basename "$page")
  installed=$prefix/share/man/man${name##*.}/$name
  if [ ! -f "$installed" ]; then
    fail "man page $name not installed as ${installed#"$prefix"/}"
  elif ! cmp -s "$page" "$installed"; then
    fail "installed ${installed#"$prefix"/} differs from man/$name"
  fi
done
ok "man pages checked: $(find "$prefix/share/man" -type f | wc -l) installed"

bash_completion=$prefix/share/bash-completion/completions/pgdr
zsh_completion=$prefix/$zsh_dir/_pgdr
for shell in bash zsh; do
  file=$bash_completion
  [ "$shell" = zsh ] && file=$zsh_completion
  if [ ! -s "$file" ]; then
    fail "$shell completion not installed as ${file#"$prefix"/}"
    continue
  fi
  if [ -x "$pgdr" ] && ! cmp -s "$file" <("$pgdr" completion "$shell"); then
    fail "${file#"$prefix"/} is not what \`pgdr completion $shell\` prints (stale build output?)"
    continue
  fi
  ok "$shell completion installed as ${file#"$prefix"/}"
done

if [ -s "$bash_completion" ]; then
  if bash -n "$bash_completion"; then
    ok "bash -n accepts the bash completion"
  else
    fail "bash -n rejects ${bash_completion#"$prefix"/}"
  fi
  # Complete `pgdr lab <TAB>` and `pgdr lab up --rel<TAB>` with the installed script.
  got=$(bash -c 'source "$1"
    COMP_WORDS=(pgdr lab ""); COMP_CWORD=2; _pgdr; echo "${COMPREPLY[*]}"
    COMP_WORDS=(pgdr lab up --rel); COMP_CWORD=3; _pgdr; echo "${COMPREPLY[*]}"' \
    _ "$bash_completion" 2>&1) || true
  expected=$'up status ssh kill start partition heal down\n--release'
  if [ "$got" = "$expected" ]; then
    ok "the bash completion completes lab subcommands and their options"
  else
    fail "the bash completion of \`pgdr lab \` and \`pgdr lab up --rel\` gave: $got"
  fi
fi
if [ -s "$zsh_completion" ]; then
  if [ "$(head -n 1 "$zsh_completion")" != "#compdef pgdr" ]; then
    fail "${zsh_completion#"$prefix"/} does not start with #compdef pgdr"
  elif command -v zsh >/dev/null && ! zsh -n "$zsh_completion"; then
    fail "zsh -n rejects ${zsh_completion#"$prefix"/}"
  else
    ok "the zsh completion starts with #compdef pgdr$(command -v zsh >/dev/null &&
      echo ' and zsh -n accepts it')"
  fi
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures problem(s) with cmake --install"
  exit 1
fi
