#include "ovh/object_storage.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.hpp"
#include "core/files.hpp"
#include "ovh/api_error.hpp"

namespace pgdr::ovh {

using nlohmann::json;

namespace {

std::string lower(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

// A user id: a number in OVH's answers, a string in the state.
std::string id_text(const json& j, const char* key = "id") {
    if (!j.is_object() || !j.contains(key)) {
        return "";
    }
    const auto& v = j[key];
    if (v.is_number_integer()) {
        return std::to_string(v.get<long long>());
    }
    return v.is_string() ? v.get<std::string>() : "";
}

std::string secrets_file(const std::string& state_dir) {
    return state_dir + "/secrets/" + k_s3_credentials_secret;
}

// The access key of <state>/secrets/s3-credentials, "" when it has none.
std::string recorded_access_key(const std::string& state_dir) {
    auto text = read_text_file(secrets_file(state_dir));
    if (!text) {
        return "";
    }
    std::string access, secret;
    std::size_t start = 0;
    while (start < text->size()) {
        auto end = text->find('\n', start);
        const std::string line =
            text->substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (line.rfind("access_key=", 0) == 0) {
            access = line.substr(11);
        } else if (line.rfind("secret_key=", 0) == 0) {
            secret = line.substr(11);
        }
        start = end == std::string::npos ? text->size() : end + 1;
    }
    return secret.empty() ? "" : access;
}

json record_of(const ClusterState& state) {
    auto it = state.provider.find("object_storage");
    return it != state.provider.end() && it->is_object() ? *it : json::object();
}

}  // namespace

std::string backup_region(const Inventory& inv) {
    if (!inv.ovh.backup_region.empty()) {
        return inv.ovh.backup_region;
    }
    if (inv.ovh.regions.size() >= 2) {
        return inv.ovh.regions[1];
    }
    return inv.ovh.regions.empty() ? std::string() : inv.ovh.regions.front();
}

std::string s3_region_of(const std::string& ovh_region) {
    std::string r = lower(ovh_region);
    while (!r.empty() && std::isdigit(static_cast<unsigned char>(r.back()))) {
        r.pop_back();
    }
    if (r.size() > 2 && r[r.size() - 2] == '-' &&
        std::isalpha(static_cast<unsigned char>(r.back()))) {
        r.resize(r.size() - 2);  // RBX-A: one zone letter
    }
    return r;
}

std::string s3_endpoint_host(const std::string& s3_region) {
    return "s3." + s3_region + ".io.cloud.ovh.net";
}

bool is_ovh_s3_endpoint(const std::string& endpoint) {
    const std::string host = lower(endpoint.substr(0, endpoint.find(':')));
    for (const auto& suffix :
         {std::string(".io.cloud.ovh.net"), std::string(".perf.cloud.ovh.net")}) {
        if (host.rfind("s3.", 0) == 0 && host.size() > suffix.size() + 3 &&
            host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) {
            return true;
        }
    }
    return false;
}

std::string storage_region_of(const Inventory& inv, const std::string& s3_region) {
    std::vector<std::string> candidates = inv.ovh.regions;
    for (const auto& h : inv.hosts) {
        candidates.push_back(h.region);
    }
    for (const auto& r : candidates) {
        if (!r.empty() && s3_region_of(r) == s3_region) {
            return r;
        }
    }
    std::string upper = s3_region;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return upper;
}

namespace {

// The backup section's repository when provision makes it (type s3 on OVH's endpoint).
const BackupRepo* ovh_backup_repo(const Inventory& inv) {
    if (!inv.backup || inv.backup->repo.type != "s3" ||
        !is_ovh_s3_endpoint(inv.backup->repo.endpoint)) {
        return nullptr;
    }
    return &inv.backup->repo;
}

}  // namespace

std::optional<ObjectStorageSpec> object_storage_spec(const Inventory& inv) {
    const std::string user = "pgdr-" + inv.cluster + "-backup";
    if (const auto* repo = ovh_backup_repo(inv)) {
        return ObjectStorageSpec{storage_region_of(inv, repo->region), repo->region, repo->bucket,
                                 user};
    }
    if (inv.ovh.backup_region.empty()) {
        return std::nullopt;
    }
    const std::string region = backup_region(inv);
    return ObjectStorageSpec{region, s3_region_of(region), user, user};
}

std::string backup_region_warning(const Inventory& inv) {
    if (inv.ovh.backup_region.empty()) {
        return {};
    }
    if (const auto* repo = ovh_backup_repo(inv)) {
        return "provider.ovh.backup_region (" + inv.ovh.backup_region +
               ") is deprecated and ignored: the backup section's repository (region " +
               repo->region + ", bucket " + repo->bucket +
               ") says where the backups go; remove provider.ovh.backup_region";
    }
    const std::string s3 = s3_region_of(inv.ovh.backup_region);
    return "provider.ovh.backup_region is deprecated: name the repository in the backup section "
           "instead (backup.repo: {type: s3, endpoint: " +
           s3_endpoint_host(s3) + ", region: " + s3 + ", bucket: pgdr-" + inv.cluster +
           "-backup}), then remove provider.ovh.backup_region";
}

json bucket_policy(const std::string& bucket) {
    return json{{"Statement",
                 json::array({{{"Sid", "PgdrBackupBucket"},
                               {"Effect", "Allow"},
                               {"Action",
                                {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
                                 "s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads",
                                 "s3:AbortMultipartUpload", "s3:GetBucketLocation"}},
                               {"Resource",
                                {"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"}}}})}};
}

bool deletes_backups(const std::vector<Change>& changes) {
    return std::any_of(changes.begin(), changes.end(), [](const Change& c) {
        return c.kind == k_bucket && c.action == ChangeAction::remove &&
               c.detail.rfind("0 objects", 0) != 0;
    });
}

ObjectStorage::ObjectStorage(ProjectApi& api, Logger& log,
                             std::function<void(const std::string&)> say)
    : m_api(api), m_log(log), m_say(std::move(say)) {}

std::string ObjectStorage::storage_path(const std::string& region) const {
    return m_api.v1_path("region/" + region + "/storage");
}

std::string ObjectStorage::user_path(const std::string& rel) const {
    return m_api.v1_path(rel.empty() ? "user" : "user/" + rel);
}

std::optional<json> ObjectStorage::find_bucket(const std::string& region,
                                               const std::string& bucket) {
    for (const auto& c : m_api.client().get(storage_path(region))) {
        if (json_string(c, "name") == bucket) {
            // The container with its object count (the list may leave it out).
            return m_api.client().get_if_exists(storage_path(region) + "/" + bucket);
        }
    }
    return std::nullopt;
}

std::optional<json> ObjectStorage::find_user(const std::string& description,
                                             const std::string& recorded_id) {
    std::optional<json> by_description;
    for (const auto& u : m_api.client().get(user_path())) {
        if (json_string(u, "status") == "deleting" || json_string(u, "status") == "deleted") {
            continue;
        }
        if (!recorded_id.empty() && id_text(u) == recorded_id) {
            return u;
        }
        if (!by_description && json_string(u, "description") == description) {
            by_description = u;
        }
    }
    return by_description;
}

std::vector<Change> ObjectStorage::plan(const ObjectStorageSpec& spec, const ClusterState& state,
                                        const std::string& state_dir) {
    std::vector<Change> out;
    const json rec = record_of(state);
    if (auto b = find_bucket(spec.region, spec.bucket)) {
        out.push_back({ChangeAction::keep, k_bucket, spec.bucket, spec.region, spec.bucket,
                       s3_endpoint_host(spec.s3_region) +
                           (rec.value("bucket_created", false)
                                ? ""
                                : " (exists, not made for this cluster: used, never deleted by "
                                  "pgdr)")});
    } else {
        out.push_back({ChangeAction::create, k_bucket, spec.bucket, spec.region, "",
                       s3_endpoint_host(spec.s3_region)});
    }
    auto user = find_user(spec.user_description, rec.value("user_id", ""));
    if (!user) {
        out.push_back({ChangeAction::create, k_s3_user, spec.user_description, "", "",
                       "role objectstore_operator"});
        out.push_back({ChangeAction::create, k_s3_credential, spec.user_description, "", "",
                       "secret to " + secrets_file(state_dir)});
        out.push_back({ChangeAction::create, k_s3_policy, spec.user_description, "", "",
                       "bucket " + spec.bucket + " only"});
        return out;
    }
    const std::string uid = id_text(*user);
    out.push_back({ChangeAction::keep, k_s3_user, spec.user_description, "", uid, ""});
    const std::string access = rec.value("access_key", "");
    bool have = false;
    if (!access.empty() && access == recorded_access_key(state_dir)) {
        for (const auto& c : m_api.client().get(user_path(uid + "/s3Credentials"))) {
            have = have || json_string(c, "access") == access;
        }
    }
    if (have) {
        out.push_back({ChangeAction::keep, k_s3_credential, spec.user_description, "", access, ""});
    } else {
        out.push_back({ChangeAction::create, k_s3_credential, spec.user_description, "", "",
                       access.empty() ? "secret to " + secrets_file(state_dir)
                                      : "the recorded one is gone or its secret file is missing"});
    }
    json current;
    try {
        const auto answer = m_api.client().get(user_path(uid + "/policy"));
        current = json::parse(json_string(answer, "policy"));
    } catch (const json::exception&) {
        current = nullptr;
    }
    const bool same = current == bucket_policy(spec.bucket);
    out.push_back({same ? ChangeAction::keep : ChangeAction::update, k_s3_policy,
                   spec.user_description, "", uid,
                   same ? "" : "allow bucket " + spec.bucket + " only"});
    return out;
}

json ObjectStorage::create_user(const ObjectStorageSpec& spec) {
    const json body{{"description", spec.user_description}, {"role", "objectstore_operator"}};
    try {
        return m_api.client().post(user_path(), body);
    } catch (const ApiError& e) {
        if (!e.outcome_unknown()) {
            throw;
        }
        // Never a second user for one unknown answer: look first.
        m_say("s3 user " + spec.user_description + ": outcome unknown, checking by name");
        if (auto u = find_user(spec.user_description, "")) {
            return *u;
        }
        return m_api.client().post(user_path(), body);
    }
}

void ObjectStorage::wait_user_ok(const std::string& id) {
    auto interval = std::chrono::milliseconds(200);
    for (int i = 0; i < 200; ++i) {
        const auto u = m_api.client().get(user_path(id));
        const std::string status = json_string(u, "status");
        if (status == "ok" || status.empty()) {
            return;
        }
        if (status == "error") {
            throw Error(ExitCode::cloud_api, "OVH could not create the S3 user " + id,
                        "see the project's users in the OVH control panel");
        }
        m_api.clock().sleep_for(interval);
        interval = std::min(interval * 2, std::chrono::milliseconds(5000));
    }
    throw Error(ExitCode::cloud_api, "the S3 user " + id + " did not become ready",
                "run `pgdr provision` again: what exists is kept");
}

void ObjectStorage::apply(const ObjectStorageSpec& spec, ClusterState& state,
                          const std::string& state_dir, ApplyResult& result) {
    const auto changes = plan(spec, state, state_dir);
    auto action_of = [&](const char* kind) {
        for (const auto& c : changes) {
            if (c.kind == kind) {
                return c.action;
            }
        }
        return ChangeAction::keep;
    };
    json rec = record_of(state);
    rec["region"] = spec.region;
    rec["bucket"] = spec.bucket;
    rec["endpoint"] = s3_endpoint_host(spec.s3_region);
    auto save = [&] {
        state.provider["object_storage"] = rec;
        save_state(state_dir, state);
    };
    if (action_of(k_bucket) == ChangeAction::create) {
        try {
            m_api.client().post(storage_path(spec.region), {{"name", spec.bucket}});
        } catch (const ApiError& e) {
            if (!e.outcome_unknown() || !find_bucket(spec.region, spec.bucket)) {
                throw;
            }
        }
        ++result.created;
        // Only a bucket this cluster made is ever deleted by its destroy (destroy_plan).
        rec["bucket_created"] = true;
        m_say("bucket " + spec.bucket + ": created in " + spec.region);
    }
    save();
    std::string uid;
    if (action_of(k_s3_user) == ChangeAction::create) {
        uid = id_text(create_user(spec));
        ++result.created;
        rec["user_id"] = uid;
        save();
        m_say("s3 user " + spec.user_description + ": created (" + uid + "), waiting until ok");
        wait_user_ok(uid);
    } else {
        uid = id_text(*find_user(spec.user_description, rec.value("user_id", "")));
        rec["user_id"] = uid;
    }
    if (action_of(k_s3_credential) == ChangeAction::create) {
        const auto cred = m_api.client().post(user_path(uid + "/s3Credentials"), json::object());
        const std::string access = json_string(cred, "access");
        const std::string secret = json_string(cred, "secret");
        if (access.empty() || secret.empty()) {
            throw Error(ExitCode::cloud_api, "OVH answered an S3 credential without a secret");
        }
        ensure_directory(state_dir + "/secrets", 0700);
        write_file_atomic(secrets_file(state_dir),
                          "access_key=" + access + "\nsecret_key=" + secret + "\n", 0600);
        rec["access_key"] = access;
        save();
        ++result.created;
        m_say("s3 credential " + access + ": created, secret in " + secrets_file(state_dir));
        // Credentials of this user that pgdr no longer records (an earlier one whose secret
        // file was lost) would stay valid for ever: delete them.
        for (const auto& c : m_api.client().get(user_path(uid + "/s3Credentials"))) {
            const std::string other = json_string(c, "access");
            if (!other.empty() && other != access) {
                m_api.client().del(user_path(uid + "/s3Credentials/" + other));
                m_say("s3 credential " + other + ": deleted (not recorded)");
            }
        }
    }
    const auto policy = action_of(k_s3_policy);
    if (policy != ChangeAction::keep) {
        m_api.client().post(user_path(uid + "/policy"),
                            {{"policy", bucket_policy(spec.bucket).dump()}});
        ++(policy == ChangeAction::create ? result.created : result.updated);
        m_say("s3 policy of " + spec.user_description + ": bucket " + spec.bucket + " only");
    }
    save();
}

std::vector<Change> ObjectStorage::destroy_plan(const std::optional<ObjectStorageSpec>& spec,
                                                const ClusterState& state, bool delete_backups) {
    std::vector<Change> out;
    const json rec = record_of(state);
    const std::string region = rec.value("region", spec ? spec->region : "");
    const std::string bucket = rec.value("bucket", spec ? spec->bucket : "");
    const std::string description = spec ? spec->user_description : bucket;
    if (region.empty() || bucket.empty()) {
        return out;
    }
    long long objects = 0;
    const auto b = find_bucket(region, bucket);
    if (b) {
        objects = b->value("objectsCount", 0LL);
    }
    const bool keep = objects > 0 && !delete_backups;
    const auto action = keep ? ChangeAction::keep : ChangeAction::remove;
    const std::string why = keep ? "holds backups: kept (--delete-backups deletes them)" : "";
    if (auto u = find_user(description, rec.value("user_id", ""))) {
        const std::string uid = id_text(*u);
        for (const auto& c : m_api.client().get(user_path(uid + "/s3Credentials"))) {
            out.push_back({action, k_s3_credential, json_string(c, "access"), "",
                           json_string(c, "access"), uid});  // detail: the user id
        }
        out.push_back({action, k_s3_user, json_string(*u, "description"), "", uid, why});
    }
    if (b) {
        // A bucket this cluster's provision did not make (another cluster's, or made by hand,
        // that the inventory names) is never emptied nor deleted, --delete-backups or not.
        const bool ours = rec.value("bucket_created", false);
        const std::string bucket_why =
            ours ? why : "not made by pgdr for this cluster: kept (delete it by hand if unused)";
        out.push_back(
            {ours ? action : ChangeAction::keep, k_bucket, bucket, region, bucket,
             std::to_string(objects) + " objects" + (bucket_why.empty() ? "" : ", " + bucket_why)});
    }
    return out;
}

// As the Terraform provider does before deleting a container: list up to 1000 objects (every
// version), bulk-delete them, until none is left.
void ObjectStorage::empty_bucket(const std::string& region, const std::string& bucket) {
    const std::string base = storage_path(region) + "/" + bucket;
    for (int round = 0; round < 10000; ++round) {
        const auto objects = m_api.client().get(base + "/object?withVersions=true");
        if (!objects.is_array() || objects.empty()) {
            return;
        }
        json keys = json::array();
        for (const auto& o : objects) {
            json k{{"key", json_string(o, "key")}};
            if (!json_string(o, "versionId").empty()) {
                k["versionId"] = json_string(o, "versionId");
            }
            keys.push_back(k);
        }
        m_api.client().post(base + "/bulkDeleteObjects", {{"objects", keys}});
        m_say("bucket " + bucket + ": " + std::to_string(keys.size()) + " objects deleted");
    }
    throw Error(ExitCode::cloud_api, "bucket " + bucket + " did not empty",
                "objects under an object lock must be unlocked first; run `pgdr destroy` again");
}

int ObjectStorage::destroy(const std::vector<Change>& changes, ClusterState& state,
                           const std::string& state_dir) {
    int deleted = 0;
    bool kept = false;
    const bool bucket_ours = record_of(state).value("bucket_created", false);
    auto gone = [&](const std::function<void()>& call) {
        try {
            call();
        } catch (const ApiError& e) {
            if (e.status() != 404) {
                throw;
            }
        }
        ++deleted;
    };
    for (const char* kind : {k_s3_credential, k_s3_user, k_bucket}) {
        for (const auto& c : changes) {
            if (c.kind != kind) {
                continue;
            }
            if (c.action != ChangeAction::remove) {
                // Another's bucket stays, but this cluster's record of it can go.
                kept = kept || c.kind != k_bucket || bucket_ours;
                continue;
            }
            if (c.kind == k_s3_credential) {
                gone([&] { m_api.client().del(user_path(c.detail + "/s3Credentials/" + c.id)); });
            } else if (c.kind == k_s3_user) {
                gone([&] { m_api.client().del(user_path(c.id)); });
            } else {
                gone([&] {
                    empty_bucket(c.region, c.id);
                    m_api.client().del(storage_path(c.region) + "/" + c.id);
                });
            }
            m_say(c.kind + " " + c.name + ": deleted");
        }
    }
    if (!kept) {
        state.provider.erase("object_storage");
        std::error_code ec;
        std::filesystem::remove(secrets_file(state_dir), ec);
    }
    return deleted;
}

}  // namespace pgdr::ovh
