// The OVH twin's Object Storage: an S3-compatible request handler over a directory, so that
// pgBackRest repositories (issue 14) live "off the cluster" on one machine as they would in OVH
// Object Storage (research-2026-12.md §3.2: https://s3.<region>.io.cloud.ovh.net, path-style
// URIs, AWS Signature Version 4). Pure like TwinApi: HttpRequest in, S3Reply out, time from a
// Clock; the HTTPS server in front of it is twin/server.cpp.
//
// Every request is checked as S3 does: an `Authorization: AWS4-HMAC-SHA256` header whose
// access key is known (403 InvalidAccessKeyId), whose credential scope names this endpoint's
// region and service s3 (400 AuthorizationHeaderMalformed), signed with the key's secret
// (403 SignatureDoesNotMatch), an x-amz-date within 15 minutes (403 RequestTimeTooSkewed) and
// an x-amz-content-sha256 that is the body's digest (400 XAmzContentSHA256Mismatch) or
// UNSIGNED-PAYLOAD. A credential may be scoped to one bucket, as an OVH S3 user's policy is
// (403 AccessDenied elsewhere).
//
// Operations (path-style, /BUCKET/KEY): ListBuckets; CreateBucket, HeadBucket, DeleteBucket
// (409 BucketNotEmpty), ListObjectsV2 (prefix, delimiter, max-keys, continuation-token,
// start-after), DeleteObjects (POST ?delete, Quiet); PutObject, GetObject (Range: bytes=),
// HeadObject, DeleteObject; multipart upload (POST ?uploads, PUT ?partNumber&uploadId, POST
// ?uploadId, DELETE ?uploadId). Objects are files named by the SHA-256 of their key with a JSON
// sidecar (key, size, ETag, time), so the index is rebuilt when the twin restarts. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/http.hpp"
#include "ovh/object_storage.hpp"

namespace pgdr::twin {

// AWS Signature Version 4, the parts a server and a test client share.
namespace sigv4 {
std::string sha256_hex(std::string_view data);
// RFC 3986 percent-encoding of everything but unreserved characters (and '/' when asked).
std::string uri_encode(std::string_view s, bool keep_slash);
std::string uri_decode(std::string_view s);
// A raw query string ("b=2&a=1&delete") as SigV4 canonicalises it: each name and value decoded
// and encoded again, sorted, "name=" for a name without value.
std::string canonical_query(std::string_view raw_query);
// The hex signature of a canonical request, for secret, date (YYYYMMDD), region, service and
// the request's x-amz-date (YYYYMMDDTHHMMSSZ).
std::string signature(const std::string& secret, const std::string& date, const std::string& region,
                      const std::string& service, const std::string& amz_date,
                      const std::string& canonical_request);
// METHOD\nPATH\nQUERY\nheaders\n\nSIGNED\nPAYLOAD for the given lower-case signed header names
// (sorted), taking their values from `headers` (any case; values trimmed).
std::string canonical_request(const std::string& method, const std::string& path,
                              std::string_view raw_query,
                              const std::map<std::string, std::string>& headers,
                              const std::vector<std::string>& signed_headers,
                              const std::string& payload_hash);
}  // namespace sigv4

struct S3Credential {
    std::string access_key;
    std::string secret_key;
    // The buckets it may use (an OVH S3 user's policy); none until a policy names some, as pgdr
    // always sets one. all_buckets: every bucket (the twin's own administration).
    std::vector<std::string> buckets;
    bool all_buckets = false;
};

struct S3Config {
    std::string region = "gra";  // the region clients sign for
    int time_window_s = 900;     // accepted |x-amz-date - now|, as S3
};

// What a request gets: a status, headers, and either a body or a byte range of a file (an
// object is streamed, never loaded whole).
struct S3Reply {
    int status = 200;
    std::map<std::string, std::string> headers;
    std::string body;
    std::string file;  // when set: send length bytes of this file from offset
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

class S3Api {
  public:
    // Objects live under root_dir (created 0700). Loads what an earlier run stored there.
    S3Api(S3Config config, std::string root_dir, Clock& clock);

    // `request.url` is the request target as sent ("/bucket/key?query"); headers any case.
    S3Reply handle(const HttpRequest& request);

    void add_credential(const S3Credential& credential);
    void remove_credential(const std::string& access_key);
    // Creates the bucket when it does not exist (as the OVH API's container creation does).
    void ensure_bucket(const std::string& bucket);
    // Removes the bucket and every object in it (the OVH API's container deletion).
    void remove_bucket(const std::string& bucket);
    std::vector<std::string> buckets() const;
    // Objects in the bucket and their bytes (the OVH API's objectsCount, objectsSize).
    std::pair<std::uint64_t, std::uint64_t> usage(const std::string& bucket) const;
    // The first `max` keys, in order (the OVH API's storage/{name}/object), and one deletion
    // (its bulkDeleteObjects).
    std::vector<std::string> keys(const std::string& bucket, std::size_t max) const;
    void delete_object(const std::string& bucket, const std::string& key);
    const S3Config& config() const { return m_config; }

  private:
    struct Object {
        std::uint64_t size = 0;
        std::string etag;  // quoted, as sent in ETag headers
        std::int64_t modified_ms = 0;
    };
    struct Upload {
        std::string bucket;
        std::string key;
    };
    struct Request;  // a parsed, authenticated request

    Request parse(const HttpRequest& request) const;
    void authenticate(const HttpRequest& http, const Request& r) const;
    S3Reply dispatch(const Request& r);
    S3Reply list_buckets(const Request& r);
    S3Reply bucket_call(const Request& r);
    S3Reply object_call(const Request& r);
    S3Reply list_objects(const Request& r);
    S3Reply delete_objects(const Request& r);
    S3Reply put_object(const Request& r);
    S3Reply get_object(const Request& r, bool head);
    S3Reply multipart(const Request& r);

    std::string object_path(const std::string& bucket, const std::string& key) const;
    std::string bucket_dir(const std::string& bucket) const;
    // Stores data as bucket/key (atomically, then the sidecar) and indexes it.
    Object store(const std::string& bucket, const std::string& key, const std::string& file,
                 const std::string& etag);
    void erase(const std::string& bucket, const std::string& key);
    void load();

    S3Config m_config;
    std::string m_root;
    Clock& m_clock;
    mutable std::mutex m_mutex;
    std::map<std::string, S3Credential> m_credentials;
    std::map<std::string, std::map<std::string, Object>> m_buckets;
    std::map<std::string, Upload> m_uploads;
    std::uint64_t m_sequence = 0;
};

// OVH's Object Storage regions, one S3Api each (s3.<region>.io.cloud.ovh.net), sharing the
// project's S3 users: what the twin's OVH API creates (buckets, credentials, policies) and its
// HTTPS endpoint serves.
class S3Regions {
  public:
    // One store per region under root_dir/<region>.
    S3Regions(const std::string& root_dir, Clock& clock, const std::vector<std::string>& regions);

    // The store of an S3 region ("gra") or of an endpoint host ("s3.gra.io.cloud.ovh.net");
    // nullptr when there is none.
    S3Api* region(const std::string& s3_region);
    S3Api* by_host(const std::string& host);
    // Credentials and their bucket scope apply in every region, as an OVH S3 user's do.
    void add_credential(const S3Credential& credential);
    void remove_credential(const std::string& access_key);
    void set_buckets(const std::string& access_key, const std::vector<std::string>& buckets);

  private:
    std::map<std::string, std::unique_ptr<S3Api>> m_regions;
    std::mutex m_mutex;
    std::map<std::string, S3Credential> m_credentials;
};

// OVH's naming of S3 regions and endpoints is the provider's (ovh/object_storage.hpp): the
// twin serves the names pgdr provisions.
using ovh::s3_endpoint_host;
using ovh::s3_region_of;

}  // namespace pgdr::twin
