// The backups' Object Storage in an OVH project (issue 14): one bucket in the backup region,
// one S3 user (a Public Cloud user with the objectstore_operator role) whose policy allows that
// bucket only, and its S3 credential. Routes (v1, ovh-facts-2026-12.md §4, the Terraform OVH
// provider's ovh_cloud_project_storage / _user / _user_s3_credential / _user_s3_policy):
//   GET|POST /cloud/project/{p}/region/{R}/storage, GET|DELETE .../storage/{name}
//   GET|POST /cloud/project/{p}/user, GET|DELETE .../user/{id} (status creating -> ok)
//   GET|POST .../user/{id}/s3Credentials, DELETE .../s3Credentials/{access}
//   GET|POST .../user/{id}/policy  {"policy": "<JSON document as a string>"}
//   GET .../storage/{name}/object?withVersions=true (1000 at most), POST
//   .../storage/{name}/bulkDeleteObjects {"objects": [{"key", "versionId"}]}: emptied first
// The state records the ids under provider.object_storage (region, bucket, user_id,
// access_key), never the secret: that goes to <state>/secrets/s3-credentials (0600,
// "access_key=...\nsecret_key=...\n"), the file the inventory's backup.repo.credentials_file
// defaults to.
//
// Destroy deletes the credential, the user and the bucket; a bucket that holds objects (the
// backups) is kept, with its user and credential, unless the operator asked for
// --delete-backups (and typed the cluster's name: cmd/provision_cmd.cpp).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/inventory.hpp"
#include "core/state.hpp"
#include "ovh/provider.hpp"
#include "ovh/resources.hpp"

namespace pgdr::ovh {

constexpr const char* k_s3_credentials_secret = "s3-credentials";
constexpr const char* k_bucket = "bucket";
constexpr const char* k_s3_user = "s3 user";
constexpr const char* k_s3_credential = "s3 credential";
constexpr const char* k_s3_policy = "s3 policy";

struct ObjectStorageSpec {
    std::string region;            // the OVH region of the v1 storage routes ("SBG5")
    std::string s3_region;         // the S3 endpoint's region ("sbg")
    std::string bucket;            // pgdr-<cluster>-backup
    std::string user_description;  // how pgdr finds its S3 user again: pgdr-<cluster>-backup
};

// provider.ovh.backup_region, else the second of provider.ovh.regions, else the first.
std::string backup_region(const Inventory& inv);
// The S3 region of an OVH region: "GRA11" -> "gra", "RBX-A" -> "rbx", "EU-WEST-PAR" ->
// "eu-west-par"; the endpoint is s3.<that>.io.cloud.ovh.net.
std::string s3_region_of(const std::string& ovh_region);
std::string s3_endpoint_host(const std::string& s3_region);
// Whether a backup.repo.endpoint is OVH's Object Storage (s3.<region>.io.cloud.ovh.net or
// .perf.cloud.ovh.net, with or without a port): then provision makes its bucket.
bool is_ovh_s3_endpoint(const std::string& endpoint);
// The OVH region of the v1 storage routes for an S3 region: the first of provider.ovh.regions
// (then the hosts' regions) that maps to it ("sbg" -> SBG5), else the S3 region upper-cased
// ("eu-west-par" -> EU-WEST-PAR, as OVH names its storage regions).
std::string storage_region_of(const Inventory& inv, const std::string& s3_region);
// What this inventory wants; nullopt when it wants no Object Storage. The `backup` section's
// repository decides when it is type s3 on an OVH endpoint: bucket backup.repo.bucket in the
// region of backup.repo.region. Otherwise provider.ovh.backup_region (deprecated) still asks
// for the bucket pgdr-<cluster>-backup in that region.
std::optional<ObjectStorageSpec> object_storage_spec(const Inventory& inv);
// The warning provision prints about provider.ovh.backup_region ("" when it is not set): a
// deprecated alias of the backup section, ignored beside one.
std::string backup_region_warning(const Inventory& inv);
// The policy document that allows the bucket alone (read, write, delete, list, multipart).
nlohmann::json bucket_policy(const std::string& bucket);

// Whether these destroy changes delete a bucket that holds objects (the typed cluster name is
// then required, whatever --yes says).
bool deletes_backups(const std::vector<Change>& changes);

class ObjectStorage {
  public:
    ObjectStorage(ProjectApi& api, Logger& log, std::function<void(const std::string&)> say);

    // create / keep / update changes for the bucket, the user, its credential and its policy.
    std::vector<Change> plan(const ObjectStorageSpec& spec, const ClusterState& state,
                             const std::string& state_dir);
    // Makes what plan() says is missing; records the ids in the state and the secret in
    // <state_dir>/secrets/s3-credentials. Counts into result.
    void apply(const ObjectStorageSpec& spec, ClusterState& state, const std::string& state_dir,
               ApplyResult& result);
    // remove changes for what exists (from the state's record, else by name). The bucket's
    // detail says how many objects it holds; a non-empty bucket without delete_backups is
    // not removed, nor its user and credential (action keep, detail why).
    std::vector<Change> destroy_plan(const std::optional<ObjectStorageSpec>& spec,
                                     const ClusterState& state, bool delete_backups);
    // Deletes the remove changes of destroy_plan (credential, user, then bucket); forgets in
    // the state what it deleted. Returns how many were deleted.
    int destroy(const std::vector<Change>& changes, ClusterState& state,
                const std::string& state_dir);

  private:
    std::string storage_path(const std::string& region) const;
    std::string user_path(const std::string& rel = {}) const;
    std::optional<nlohmann::json> find_bucket(const std::string& region, const std::string& bucket);
    std::optional<nlohmann::json> find_user(const std::string& description,
                                            const std::string& recorded_id);
    nlohmann::json create_user(const ObjectStorageSpec& spec);
    void wait_user_ok(const std::string& id);
    void empty_bucket(const std::string& region, const std::string& bucket);

    ProjectApi& m_api;
    Logger& m_log;
    std::function<void(const std::string&)> m_say;
};

}  // namespace pgdr::ovh
