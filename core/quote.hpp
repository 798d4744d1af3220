// Shell quoting: the one function that turns an argv vector into a POSIX shell command line.
//
// SSH executes a single string through the remote user's shell, so every remote command is an
// argv vector until the last moment and is quoted here; no user value is ever spliced into a
// shell string anywhere else.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgdr {

// One word, quoted so that any POSIX shell reads it back byte for byte. Words made only of
// safe characters are returned as they are, everything else is single-quoted ('' becomes '\'').
std::string shell_quote(std::string_view word);

// The argv joined into one command line, each word quoted. Throws std::invalid_argument for
// an empty argv or a word containing a NUL byte (a shell cannot carry it).
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace pgdr
