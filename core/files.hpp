// Local files: reading, atomic writes with a mode (0600 for secrets), private directories.
#pragma once

#include <optional>
#include <string>

namespace pgdr {

// The whole file, or std::nullopt when it does not exist. Throws pgdr::Error on other errors.
std::optional<std::string> read_text_file(const std::string& path);

// Writes via a temporary file in the same directory + fsync + rename, created with `mode` from
// the start (never world-readable in between). Throws pgdr::Error on failure.
void write_file_atomic(const std::string& path, const std::string& content, unsigned mode = 0644);

// A secret file the operator wrote (credentials): its content. Throws pgdr::Error
// (invalid_config) naming `what` and the file, never its content, when it cannot be read
// (`missing_hint` says how to make it) or when group or others may read it.
std::string read_private_file(const std::string& path, const std::string& what,
                              const std::string& missing_hint);

// mkdir -p with the given mode for the directories it creates.
void ensure_directory(const std::string& path, unsigned mode = 0755);
// A directory that must stay private (the state directory, its secrets, transcripts): when it
// exists with a mode that lets group or others in (beyond `mode`), it is chmod-ed to `mode`.
// Returns true when it was too open (the caller warns). Throws pgdr::Error when the chmod fails.
bool restrict_directory(const std::string& path, unsigned mode = 0700);

}  // namespace pgdr
