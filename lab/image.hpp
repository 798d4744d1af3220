// The lab's base image: a debootstrapped Debian root with systemd, sshd and the cluster's
// packages, built once per recipe and cached under /var/cache/pgdr/images/<release>-<hash>.
//
// The hash covers the whole recipe (release, package lists, every fix applied), so a changed
// recipe builds a new image and an unchanged one is reused. A build happens in a temporary
// directory renamed into place at the end: a half-built image is never used.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/transport.hpp"

namespace pgdr::lab {

struct ImageRecipe {
    std::string release;  // trixie | bookworm
    int postgres_version = 0;
    std::vector<std::string> base_packages;     // given to debootstrap --include
    std::vector<std::string> cluster_packages;  // installed with apt inside the image

    std::string text() const;  // canonical description, the input of hash()
    std::string hash() const;  // 16 hex digits (FNV-1a 64 of text())
    std::string path() const;  // /var/cache/pgdr/images/<release>-<hash>
};

// The recipe for a supported release; throws pgdr::Error (usage) for another one.
ImageRecipe recipe_for(const std::string& release);

using Progress = std::function<void(const std::string&)>;

// Builds the image unless it exists; returns its path. Needs root, debootstrap, systemd-nspawn
// and the apt proxy listening on 127.0.0.1. Throws pgdr::Error with the failing step's output.
std::string ensure_image(const ImageRecipe& recipe, Transport& local, const Progress& progress);

// The image directories present in the cache.
std::vector<std::string> cached_images();

}  // namespace pgdr::lab
