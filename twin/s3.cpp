#include "twin/s3.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/base64.hpp"
#include "core/files.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pgdr::twin {

namespace {

// An S3 error: its HTTP status, code and message, sent as S3's XML document.
struct S3Error : std::runtime_error {
    S3Error(int http_status, std::string s3_code, const std::string& message,
            std::string resource_name = {})
        : std::runtime_error(message),
          status(http_status),
          code(std::move(s3_code)),
          resource(std::move(resource_name)) {}
    int status;
    std::string code;
    std::string resource;
};

std::string hex(const unsigned char* data, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 15];
    }
    return out;
}

std::string digest(const EVP_MD* md, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data.data(), data.size(), out, &n, md, nullptr) != 1) {
        throw std::runtime_error("digest failed");
    }
    return std::string(reinterpret_cast<const char*>(out), n);
}

std::string hmac(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
             &n) == nullptr) {
        throw std::runtime_error("HMAC failed");
    }
    return std::string(reinterpret_cast<const char*>(out), n);
}

std::string hex_of(const std::string& bytes) {
    return hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string base64(const std::string& bytes) {
    return base64_encode(bytes);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Leading and trailing blanks removed, inner runs of blanks made one space (SigV4).
std::string trim_value(const std::string& v) {
    std::string out;
    bool blank = false;
    for (char c : v) {
        if (c == ' ' || c == '\t') {
            blank = !out.empty();
            continue;
        }
        if (blank) {
            out += ' ';
            blank = false;
        }
        out += c;
    }
    return out;
}

std::string xml_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string xml_unescape(std::string_view s) {
    static const std::pair<const char*, char> entities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        bool done = false;
        for (const auto& [entity, c] : entities) {
            if (s.substr(i, std::char_traits<char>::length(entity)) == entity) {
                out += c;
                i += std::char_traits<char>::length(entity);
                done = true;
                break;
            }
        }
        if (!done) {
            out += s[i++];
        }
    }
    return out;
}

// The text of every <tag>...</tag> in a document, in order (the small XML bodies S3 clients
// send: DeleteObjects, CompleteMultipartUpload).
std::vector<std::string> xml_values(const std::string& doc, const std::string& tag) {
    std::vector<std::string> out;
    const std::string open = "<" + tag + ">";
    const std::string close = "</" + tag + ">";
    for (auto at = doc.find(open); at != std::string::npos; at = doc.find(open, at)) {
        const auto start = at + open.size();
        const auto end = doc.find(close, start);
        if (end == std::string::npos) {
            throw S3Error(400, "MalformedXML", "The XML you provided was not well-formed");
        }
        out.push_back(xml_unescape(std::string_view(doc).substr(start, end - start)));
        at = end + close.size();
    }
    return out;
}

std::tm utc(std::int64_t ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return tm;
}

std::string iso_time(std::int64_t ms) {
    const std::tm tm = utc(ms);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char millis[8];
    std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms % 1000));
    return std::string(buf) + millis;
}

std::string http_date(std::int64_t ms) {
    const std::tm tm = utc(ms);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

// YYYYMMDDTHHMMSSZ -> seconds since the epoch; -1 when malformed.
std::int64_t parse_amz_date(const std::string& s) {
    std::tm tm{};
    if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z' ||
        std::sscanf(s.c_str(), "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm));
}

std::map<std::string, std::string> parse_query(std::string_view raw) {
    std::map<std::string, std::string> out;
    std::size_t start = 0;
    while (start <= raw.size() && !raw.empty()) {
        auto amp = raw.find('&', start);
        auto part =
            raw.substr(start, amp == std::string_view::npos ? raw.size() - start : amp - start);
        if (!part.empty()) {
            auto eq = part.find('=');
            out[sigv4::uri_decode(part.substr(0, eq))] =
                eq == std::string_view::npos ? "" : sigv4::uri_decode(part.substr(eq + 1));
        }
        if (amp == std::string_view::npos) {
            break;
        }
        start = amp + 1;
    }
    return out;
}

std::string xml_document(const std::string& body) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + body;
}

S3Reply xml_reply(int status, const std::string& body) {
    S3Reply r;
    r.status = status;
    r.headers["Content-Type"] = "application/xml";
    r.body = xml_document(body);
    return r;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// A key S3 accepts and this store can keep: 1 to 1024 bytes.
void check_key(const std::string& key) {
    if (key.empty() || key.size() > 1024) {
        throw S3Error(400, "KeyTooLongError", "Your key is too long");
    }
}

bool valid_bucket_name(const std::string& b) {
    if (b.size() < 3 || b.size() > 63) {
        return false;
    }
    return std::all_of(b.begin(), b.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    });
}

}  // namespace

// ------------------------------------------------------------------------------------- SigV4

namespace sigv4 {

std::string sha256_hex(std::string_view data) {
    return hex_of(digest(EVP_sha256(), data));
}

std::string uri_encode(std::string_view s, bool keep_slash) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

std::string uri_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() &&
            std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string canonical_query(std::string_view raw_query) {
    std::vector<std::pair<std::string, std::string>> pairs;
    std::size_t start = 0;
    while (start < raw_query.size()) {
        auto amp = raw_query.find('&', start);
        auto part = raw_query.substr(
            start, amp == std::string_view::npos ? raw_query.size() - start : amp - start);
        if (!part.empty()) {
            auto eq = part.find('=');
            pairs.emplace_back(uri_encode(uri_decode(part.substr(0, eq)), false),
                               eq == std::string_view::npos
                                   ? ""
                                   : uri_encode(uri_decode(part.substr(eq + 1)), false));
        }
        if (amp == std::string_view::npos) {
            break;
        }
        start = amp + 1;
    }
    std::sort(pairs.begin(), pairs.end());
    std::string out;
    for (const auto& [k, v] : pairs) {
        out += (out.empty() ? "" : "&") + k + "=" + v;
    }
    return out;
}

std::string canonical_request(const std::string& method, const std::string& path,
                              std::string_view raw_query,
                              const std::map<std::string, std::string>& headers,
                              const std::vector<std::string>& signed_headers,
                              const std::string& payload_hash) {
    std::map<std::string, std::string> by_lower;
    for (const auto& [k, v] : headers) {
        by_lower[lower(k)] = v;
    }
    std::string out = method + "\n" + path + "\n" + canonical_query(raw_query) + "\n";
    std::string names;
    for (const auto& h : signed_headers) {
        auto it = by_lower.find(h);
        out += h + ":" + (it == by_lower.end() ? "" : trim_value(it->second)) + "\n";
        names += (names.empty() ? "" : ";") + h;
    }
    return out + "\n" + names + "\n" + payload_hash;
}

std::string signature(const std::string& secret, const std::string& date, const std::string& region,
                      const std::string& service, const std::string& amz_date,
                      const std::string& canonical_request) {
    const std::string scope = date + "/" + region + "/" + service + "/aws4_request";
    const std::string to_sign =
        "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + sha256_hex(canonical_request);
    std::string key = hmac("AWS4" + secret, date);
    key = hmac(key, region);
    key = hmac(key, service);
    key = hmac(key, "aws4_request");
    return hex_of(hmac(key, to_sign));
}

}  // namespace sigv4

// ----------------------------------------------------------------------------------- S3Api

struct S3Api::Request {
    std::string method;
    std::string path;  // as sent, still encoded
    std::string raw_query;
    std::map<std::string, std::string> query;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::string bucket;
    std::string key;
};

S3Api::S3Api(S3Config config, std::string root_dir, Clock& clock)
    : m_config(std::move(config)), m_root(std::move(root_dir)), m_clock(clock) {
    ensure_directory(m_root, 0700);
    ensure_directory(m_root + "/buckets", 0700);
    ensure_directory(m_root + "/uploads", 0700);
    load();
}

void S3Api::load() {
    std::error_code ec;
    for (const auto& b : fs::directory_iterator(m_root + "/buckets", ec)) {
        auto& objects = m_buckets[b.path().filename().string()];
        for (const auto& f : fs::directory_iterator(b.path(), ec)) {
            if (f.path().extension() != ".meta") {
                continue;
            }
            try {
                const auto meta = json::parse(read_file(f.path().string()));
                objects[meta.at("key").get<std::string>()] =
                    Object{meta.at("size").get<std::uint64_t>(), meta.at("etag").get<std::string>(),
                           meta.at("modified_ms").get<std::int64_t>()};
            } catch (const std::exception&) {
                // A sidecar cut short by a crash: its object was never acknowledged.
            }
        }
    }
}

void S3Api::add_credential(const S3Credential& credential) {
    std::lock_guard lock(m_mutex);
    m_credentials[credential.access_key] = credential;
}

void S3Api::remove_credential(const std::string& access_key) {
    std::lock_guard lock(m_mutex);
    m_credentials.erase(access_key);
}

void S3Api::ensure_bucket(const std::string& bucket) {
    if (!valid_bucket_name(bucket)) {
        throw std::invalid_argument("invalid bucket name '" + bucket + "'");
    }
    std::lock_guard lock(m_mutex);
    ensure_directory(bucket_dir(bucket), 0700);
    m_buckets[bucket];
}

void S3Api::remove_bucket(const std::string& bucket) {
    std::lock_guard lock(m_mutex);
    m_buckets.erase(bucket);
    std::error_code ec;
    fs::remove_all(bucket_dir(bucket), ec);
}

std::vector<std::string> S3Api::buckets() const {
    std::lock_guard lock(m_mutex);
    std::vector<std::string> out;
    for (const auto& [name, objects] : m_buckets) {
        out.push_back(name);
    }
    return out;
}

std::pair<std::uint64_t, std::uint64_t> S3Api::usage(const std::string& bucket) const {
    std::lock_guard lock(m_mutex);
    std::pair<std::uint64_t, std::uint64_t> out{0, 0};
    if (auto it = m_buckets.find(bucket); it != m_buckets.end()) {
        for (const auto& [key, object] : it->second) {
            ++out.first;
            out.second += object.size;
        }
    }
    return out;
}

std::vector<std::string> S3Api::keys(const std::string& bucket, std::size_t max) const {
    std::lock_guard lock(m_mutex);
    std::vector<std::string> out;
    if (auto it = m_buckets.find(bucket); it != m_buckets.end()) {
        for (const auto& [key, object] : it->second) {
            if (out.size() >= max) {
                break;
            }
            out.push_back(key);
        }
    }
    return out;
}

void S3Api::delete_object(const std::string& bucket, const std::string& key) {
    erase(bucket, key);
}

std::string S3Api::bucket_dir(const std::string& bucket) const {
    return m_root + "/buckets/" + bucket;
}

std::string S3Api::object_path(const std::string& bucket, const std::string& key) const {
    return bucket_dir(bucket) + "/" + sigv4::sha256_hex(key);
}

S3Reply S3Api::handle(const HttpRequest& request) {
    std::string resource;
    try {
        const Request r = parse(request);
        resource = r.path;
        authenticate(request, r);
        return dispatch(r);
    } catch (const S3Error& e) {
        S3Reply reply;
        reply.status = e.status;
        if (request.method != "HEAD") {
            reply = xml_reply(e.status, "<Error><Code>" + e.code + "</Code><Message>" +
                                            xml_escape(e.what()) + "</Message><Resource>" +
                                            xml_escape(e.resource.empty() ? resource : e.resource) +
                                            "</Resource></Error>");
        }
        return reply;
    }
}

S3Api::Request S3Api::parse(const HttpRequest& request) const {
    Request r;
    r.method = request.method;
    std::string target = request.url;
    if (auto scheme = target.find("://"); scheme != std::string::npos) {
        auto slash = target.find('/', scheme + 3);
        target = slash == std::string::npos ? "/" : target.substr(slash);
    }
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    r.raw_query = q == std::string::npos ? "" : target.substr(q + 1);
    r.query = parse_query(r.raw_query);
    for (const auto& [k, v] : request.headers) {
        r.headers[lower(k)] = v;
    }
    r.body = request.body;
    const std::string decoded = sigv4::uri_decode(r.path);
    if (decoded.empty() || decoded[0] != '/') {
        throw S3Error(400, "InvalidURI", "Couldn't parse the specified URI.");
    }
    const auto slash = decoded.find('/', 1);
    r.bucket = decoded.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    r.key = slash == std::string::npos ? "" : decoded.substr(slash + 1);
    return r;
}

void S3Api::authenticate(const HttpRequest& http, const Request& r) const {
    auto header = [&](const std::string& name) {
        auto it = r.headers.find(name);
        return it == r.headers.end() ? std::string() : it->second;
    };
    const std::string auth = header("authorization");
    const std::string prefix = "AWS4-HMAC-SHA256 ";
    if (auth.rfind(prefix, 0) != 0) {
        throw S3Error(403, "AccessDenied",
                      auth.empty() ? "Anonymous access is forbidden for this operation"
                                   : "Only AWS4-HMAC-SHA256 signatures are supported");
    }
    // Credential=AK/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=hex
    std::map<std::string, std::string> fields;
    std::stringstream parts(auth.substr(prefix.size()));
    for (std::string part; std::getline(parts, part, ',');) {
        part = trim_value(part);
        auto eq = part.find('=');
        if (eq != std::string::npos) {
            fields[part.substr(0, eq)] = part.substr(eq + 1);
        }
    }
    std::vector<std::string> scope;
    std::stringstream cs(fields["Credential"]);
    for (std::string s; std::getline(cs, s, '/');) {
        scope.push_back(s);
    }
    if (scope.size() != 5 || fields["SignedHeaders"].empty() || fields["Signature"].empty() ||
        scope[4] != "aws4_request") {
        throw S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed");
    }
    if (scope[2] != m_config.region || scope[3] != "s3") {
        throw S3Error(400, "AuthorizationHeaderMalformed",
                      "The authorization header is malformed; the region '" + scope[2] +
                          "' is wrong; expecting '" + m_config.region + "'");
    }
    S3Credential credential;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_credentials.find(scope[0]);
        if (it == m_credentials.end()) {
            throw S3Error(403, "InvalidAccessKeyId",
                          "The AWS Access Key Id you provided does not exist in our records.");
        }
        credential = it->second;
    }
    const std::string amz_date = header("x-amz-date");
    const std::int64_t when = parse_amz_date(amz_date);
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(m_clock.wall_now().time_since_epoch())
            .count();
    if (when < 0 || amz_date.substr(0, 8) != scope[1]) {
        throw S3Error(403, "AccessDenied",
                      "x-amz-date is missing or does not match the credential");
    }
    if (std::llabs(when - now) > m_config.time_window_s) {
        throw S3Error(403, "RequestTimeTooSkewed",
                      "The difference between the request time and the current time is too "
                      "large.");
    }
    const std::string payload = header("x-amz-content-sha256");
    if (payload.empty()) {
        throw S3Error(400, "InvalidRequest",
                      "Missing required header for this request: "
                      "x-amz-content-sha256");
    }
    if (payload.rfind("STREAMING-", 0) == 0) {
        throw S3Error(501, "NotImplemented", "Chunked uploads are not supported here");
    }
    std::vector<std::string> signed_headers;
    std::stringstream sh(fields["SignedHeaders"]);
    for (std::string h; std::getline(sh, h, ';');) {
        signed_headers.push_back(h);
    }
    if (std::find(signed_headers.begin(), signed_headers.end(), "host") == signed_headers.end()) {
        throw S3Error(400, "AuthorizationHeaderMalformed", "The host header must be signed");
    }
    const std::string expected =
        sigv4::signature(credential.secret_key, scope[1], scope[2], scope[3], amz_date,
                         sigv4::canonical_request(r.method, r.path, r.raw_query, http.headers,
                                                  signed_headers, payload));
    if (CRYPTO_memcmp(expected.data(), fields["Signature"].data(),
                      std::min(expected.size(), fields["Signature"].size())) != 0 ||
        expected.size() != fields["Signature"].size()) {
        throw S3Error(403, "SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your key and signing method.");
    }
    if (payload != "UNSIGNED-PAYLOAD" && payload != sigv4::sha256_hex(r.body)) {
        throw S3Error(400, "XAmzContentSHA256Mismatch",
                      "The provided 'x-amz-content-sha256' header does not match what was "
                      "computed.");
    }
    if (!credential.all_buckets &&
        (r.bucket.empty() || std::find(credential.buckets.begin(), credential.buckets.end(),
                                       r.bucket) == credential.buckets.end())) {
        throw S3Error(403, "AccessDenied", "Access Denied");
    }
}

S3Reply S3Api::dispatch(const Request& r) {
    if (r.bucket.empty()) {
        if (r.method != "GET") {
            throw S3Error(405, "MethodNotAllowed",
                          "The specified method is not allowed against this resource.");
        }
        return list_buckets(r);
    }
    return r.key.empty() ? bucket_call(r) : object_call(r);
}

S3Reply S3Api::list_buckets(const Request&) {
    std::string body = "<ListAllMyBucketsResult><Owner><ID>pgdr-twin</ID></Owner><Buckets>";
    for (const auto& b : buckets()) {
        body += "<Bucket><Name>" + xml_escape(b) + "</Name></Bucket>";
    }
    return xml_reply(200, body + "</Buckets></ListAllMyBucketsResult>");
}

S3Reply S3Api::bucket_call(const Request& r) {
    if (r.method == "PUT") {
        if (!valid_bucket_name(r.bucket)) {
            throw S3Error(400, "InvalidBucketName", "The specified bucket is not valid.");
        }
        ensure_bucket(r.bucket);
        return S3Reply{};
    }
    {
        std::lock_guard lock(m_mutex);
        if (!m_buckets.count(r.bucket)) {
            throw S3Error(404, "NoSuchBucket", "The specified bucket does not exist");
        }
    }
    if (r.method == "HEAD") {
        return S3Reply{};
    }
    if (r.method == "GET") {
        return list_objects(r);
    }
    if (r.method == "POST" && r.query.count("delete")) {
        return delete_objects(r);
    }
    if (r.method == "DELETE") {
        {
            std::lock_guard lock(m_mutex);
            if (!m_buckets[r.bucket].empty()) {
                throw S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty");
            }
        }
        remove_bucket(r.bucket);
        S3Reply reply;
        reply.status = 204;
        return reply;
    }
    throw S3Error(405, "MethodNotAllowed",
                  "The specified method is not allowed against this resource.");
}

S3Reply S3Api::list_objects(const Request& r) {
    auto get = [&](const std::string& k) {
        auto it = r.query.find(k);
        return it == r.query.end() ? std::string() : it->second;
    };
    const std::string prefix = get("prefix");
    const std::string delimiter = get("delimiter");
    int max_keys = 1000;
    if (!get("max-keys").empty()) {
        try {
            max_keys = std::clamp(std::stoi(get("max-keys")), 0, 1000);
        } catch (const std::exception&) {
            throw S3Error(400, "InvalidArgument", "max-keys must be an integer");
        }
    }
    std::string after = get("start-after");
    if (const std::string token = get("continuation-token"); !token.empty()) {
        after = sigv4::uri_decode(token);
    }
    std::string contents, prefixes, last;
    int count = 0;
    bool truncated = false;
    {
        std::lock_guard lock(m_mutex);
        const auto& objects = m_buckets[r.bucket];
        for (auto it = objects.lower_bound(prefix); it != objects.end(); ++it) {
            const auto& [key, object] = *it;
            if (key.compare(0, prefix.size(), prefix) != 0) {
                break;
            }
            std::string item = key;
            bool common = false;
            if (!delimiter.empty()) {
                auto at = key.find(delimiter, prefix.size());
                if (at != std::string::npos) {
                    item = key.substr(0, at + delimiter.size());
                    common = true;
                }
            }
            if ((!after.empty() && item <= after) || item == last) {
                continue;
            }
            if (count == max_keys) {
                truncated = true;
                break;
            }
            ++count;
            last = item;
            if (common) {
                prefixes +=
                    "<CommonPrefixes><Prefix>" + xml_escape(item) + "</Prefix></CommonPrefixes>";
            } else {
                contents += "<Contents><Key>" + xml_escape(key) + "</Key><LastModified>" +
                            iso_time(object.modified_ms) + "</LastModified><ETag>" +
                            xml_escape(object.etag) + "</ETag><Size>" +
                            std::to_string(object.size) +
                            "</Size><StorageClass>STANDARD</StorageClass></Contents>";
            }
        }
    }
    std::string body =
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>" +
        xml_escape(r.bucket) + "</Name><Prefix>" + xml_escape(prefix) + "</Prefix><KeyCount>" +
        std::to_string(count) + "</KeyCount><MaxKeys>" + std::to_string(max_keys) + "</MaxKeys>";
    if (!delimiter.empty()) {
        body += "<Delimiter>" + xml_escape(delimiter) + "</Delimiter>";
    }
    body += std::string("<IsTruncated>") + (truncated ? "true" : "false") + "</IsTruncated>";
    if (truncated) {
        body += "<NextContinuationToken>" + xml_escape(sigv4::uri_encode(last, false)) +
                "</NextContinuationToken>";
    }
    return xml_reply(200, body + contents + prefixes + "</ListBucketResult>");
}

S3Reply S3Api::delete_objects(const Request& r) {
    if (auto md5 = r.headers.find("content-md5");
        md5 != r.headers.end() && md5->second != base64(digest(EVP_md5(), r.body))) {
        throw S3Error(400, "BadDigest",
                      "The Content-MD5 you specified did not match what we received.");
    }
    const auto keys = xml_values(r.body, "Key");
    if (keys.size() > 1000) {
        throw S3Error(400, "MalformedXML", "At most 1000 keys may be deleted at once");
    }
    const auto quiet = xml_values(r.body, "Quiet");
    std::string body = "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    for (const auto& key : keys) {
        erase(r.bucket, key);
        if (quiet.empty() || quiet[0] != "true") {
            body += "<Deleted><Key>" + xml_escape(key) + "</Key></Deleted>";
        }
    }
    return xml_reply(200, body + "</DeleteResult>");
}

S3Reply S3Api::object_call(const Request& r) {
    check_key(r.key);
    {
        std::lock_guard lock(m_mutex);
        if (!m_buckets.count(r.bucket)) {
            throw S3Error(404, "NoSuchBucket", "The specified bucket does not exist");
        }
    }
    if (r.query.count("uploads") || r.query.count("uploadId")) {
        return multipart(r);
    }
    if (r.method == "PUT") {
        if (r.headers.count("x-amz-copy-source")) {
            throw S3Error(501, "NotImplemented", "CopyObject is not implemented here");
        }
        return put_object(r);
    }
    if (r.method == "GET" || r.method == "HEAD") {
        return get_object(r, r.method == "HEAD");
    }
    if (r.method == "DELETE") {
        erase(r.bucket, r.key);
        S3Reply reply;
        reply.status = 204;
        return reply;
    }
    throw S3Error(405, "MethodNotAllowed",
                  "The specified method is not allowed against this resource.");
}

S3Reply S3Api::put_object(const Request& r) {
    if (auto md5 = r.headers.find("content-md5");
        md5 != r.headers.end() && md5->second != base64(digest(EVP_md5(), r.body))) {
        throw S3Error(400, "BadDigest",
                      "The Content-MD5 you specified did not match what we received.");
    }
    std::string tmp;
    {
        std::lock_guard lock(m_mutex);
        tmp = m_root + "/uploads/put-" + std::to_string(++m_sequence);
    }
    write_file_atomic(tmp, r.body, 0600);
    const auto object =
        store(r.bucket, r.key, tmp, "\"" + hex_of(digest(EVP_md5(), r.body)) + "\"");
    S3Reply reply;
    reply.headers["ETag"] = object.etag;
    return reply;
}

S3Reply S3Api::get_object(const Request& r, bool head) {
    Object object;
    {
        std::lock_guard lock(m_mutex);
        const auto& objects = m_buckets[r.bucket];
        auto it = objects.find(r.key);
        if (it == objects.end()) {
            throw S3Error(404, "NoSuchKey", "The specified key does not exist.");
        }
        object = it->second;
    }
    S3Reply reply;
    reply.headers["ETag"] = object.etag;
    reply.headers["Last-Modified"] = http_date(object.modified_ms);
    reply.headers["Accept-Ranges"] = "bytes";
    reply.file = object_path(r.bucket, r.key);
    reply.length = object.size;
    if (auto range = r.headers.find("range"); range != r.headers.end() && !head) {
        unsigned long long first = 0, last = 0;
        const std::string& v = range->second;
        const int fields = std::sscanf(v.c_str(), "bytes=%llu-%llu", &first, &last);
        if (fields == 1) {
            last = object.size == 0 ? 0 : object.size - 1;  // "bytes=N-": to the end
        } else if (fields != 2) {
            throw S3Error(400, "InvalidArgument", "Unsupported Range header");
        }
        if (first >= object.size || last < first) {
            throw S3Error(416, "InvalidRange", "The requested range is not satisfiable");
        }
        last = std::min<unsigned long long>(last, object.size - 1);
        reply.status = 206;
        reply.offset = first;
        reply.length = last - first + 1;
        reply.headers["Content-Range"] = "bytes " + std::to_string(first) + "-" +
                                         std::to_string(last) + "/" + std::to_string(object.size);
    }
    reply.headers["Content-Length"] = std::to_string(reply.length);
    if (head) {
        reply.file.clear();
    }
    return reply;
}

S3Reply S3Api::multipart(const Request& r) {
    if (r.method == "POST" && r.query.count("uploads")) {
        unsigned char random[16];
        if (RAND_bytes(random, sizeof random) != 1) {
            throw std::runtime_error("RAND_bytes failed");
        }
        const std::string id = hex(random, sizeof random);
        {
            std::lock_guard lock(m_mutex);
            m_uploads[id] = Upload{r.bucket, r.key};
        }
        ensure_directory(m_root + "/uploads/" + id, 0700);
        return xml_reply(200, "<InitiateMultipartUploadResult><Bucket>" + xml_escape(r.bucket) +
                                  "</Bucket><Key>" + xml_escape(r.key) + "</Key><UploadId>" + id +
                                  "</UploadId></InitiateMultipartUploadResult>");
    }
    const std::string id = r.query.count("uploadId") ? r.query.at("uploadId") : "";
    {
        std::lock_guard lock(m_mutex);
        auto it = m_uploads.find(id);
        if (it == m_uploads.end() || it->second.bucket != r.bucket || it->second.key != r.key) {
            throw S3Error(404, "NoSuchUpload", "The specified upload does not exist.");
        }
    }
    const std::string dir = m_root + "/uploads/" + id;
    if (r.method == "PUT") {
        int part = 0;
        try {
            part = std::stoi(r.query.count("partNumber") ? r.query.at("partNumber") : "");
        } catch (const std::exception&) {
        }
        if (part < 1 || part > 10000) {
            throw S3Error(400, "InvalidArgument",
                          "Part number must be an integer between 1 and 10000, inclusive");
        }
        write_file_atomic(dir + "/" + std::to_string(part), r.body, 0600);
        S3Reply reply;
        reply.headers["ETag"] = "\"" + hex_of(digest(EVP_md5(), r.body)) + "\"";
        return reply;
    }
    if (r.method == "DELETE") {
        std::error_code ec;
        fs::remove_all(dir, ec);
        std::lock_guard lock(m_mutex);
        m_uploads.erase(id);
        S3Reply reply;
        reply.status = 204;
        return reply;
    }
    if (r.method != "POST") {
        throw S3Error(405, "MethodNotAllowed",
                      "The specified method is not allowed against this resource.");
    }
    // CompleteMultipartUpload: the parts named, in ascending order, with the ETags they got.
    const auto numbers = xml_values(r.body, "PartNumber");
    const auto etags = xml_values(r.body, "ETag");
    if (numbers.empty() || numbers.size() != etags.size()) {
        throw S3Error(400, "MalformedXML", "The XML you provided was not well-formed");
    }
    const std::string assembled = dir + "/assembled";
    std::string md5s;
    {
        std::ofstream out(assembled, std::ios::binary | std::ios::trunc);
        int previous = 0;
        for (std::size_t i = 0; i < numbers.size(); ++i) {
            const int n = std::atoi(numbers[i].c_str());
            if (n <= previous) {
                throw S3Error(400, "InvalidPartOrder",
                              "The list of parts was not in ascending order.");
            }
            previous = n;
            const std::string part = dir + "/" + std::to_string(n);
            const std::string data = fs::exists(part) ? read_file(part) : std::string();
            const std::string md5 = digest(EVP_md5(), data);
            std::string etag = etags[i];
            etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
            if (!fs::exists(part) || etag != hex_of(md5)) {
                throw S3Error(400, "InvalidPart",
                              "One or more of the specified parts could not be found.");
            }
            md5s += md5;
            out.write(data.data(), static_cast<std::streamsize>(data.size()));
        }
        if (!out) {
            throw std::runtime_error("cannot write " + assembled);
        }
    }
    const auto object =
        store(r.bucket, r.key, assembled,
              "\"" + hex_of(digest(EVP_md5(), md5s)) + "-" + std::to_string(numbers.size()) + "\"");
    std::error_code ec;
    fs::remove_all(dir, ec);
    {
        std::lock_guard lock(m_mutex);
        m_uploads.erase(id);
    }
    return xml_reply(200, "<CompleteMultipartUploadResult><Bucket>" + xml_escape(r.bucket) +
                              "</Bucket><Key>" + xml_escape(r.key) + "</Key><ETag>" +
                              xml_escape(object.etag) + "</ETag></CompleteMultipartUploadResult>");
}

S3Api::Object S3Api::store(const std::string& bucket, const std::string& key,
                           const std::string& file, const std::string& etag) {
    Object object;
    object.size = fs::file_size(file);
    object.etag = etag;
    object.modified_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(m_clock.wall_now().time_since_epoch())
            .count();
    const std::string path = object_path(bucket, key);
    std::lock_guard lock(m_mutex);
    if (!m_buckets.count(bucket)) {
        throw S3Error(404, "NoSuchBucket", "The specified bucket does not exist");
    }
    fs::rename(file, path);
    write_file_atomic(path + ".meta",
                      json{{"key", key},
                           {"size", object.size},
                           {"etag", etag},
                           {"modified_ms", object.modified_ms}}
                          .dump(),
                      0600);
    m_buckets[bucket][key] = object;
    return object;
}

void S3Api::erase(const std::string& bucket, const std::string& key) {
    const std::string path = object_path(bucket, key);
    std::lock_guard lock(m_mutex);
    m_buckets[bucket].erase(key);
    std::error_code ec;
    fs::remove(path + ".meta", ec);
    fs::remove(path, ec);
}

// ------------------------------------------------------------------------------- S3Regions

S3Regions::S3Regions(const std::string& root_dir, Clock& clock,
                     const std::vector<std::string>& regions) {
    ensure_directory(root_dir, 0700);
    for (const auto& r : regions) {
        if (!m_regions.count(r)) {
            m_regions[r] = std::make_unique<S3Api>(S3Config{r, 900}, root_dir + "/" + r, clock);
        }
    }
}

S3Api* S3Regions::region(const std::string& s3_region) {
    auto it = m_regions.find(s3_region);
    return it == m_regions.end() ? nullptr : it->second.get();
}

S3Api* S3Regions::by_host(const std::string& host) {
    const std::string name = host.substr(0, host.find(':'));
    const std::string prefix = "s3.";
    const std::string suffix = ".io.cloud.ovh.net";
    if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return nullptr;
    }
    return region(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()));
}

void S3Regions::add_credential(const S3Credential& credential) {
    std::lock_guard lock(m_mutex);
    m_credentials[credential.access_key] = credential;
    for (auto& [name, api] : m_regions) {
        api->add_credential(credential);
    }
}

void S3Regions::remove_credential(const std::string& access_key) {
    std::lock_guard lock(m_mutex);
    m_credentials.erase(access_key);
    for (auto& [name, api] : m_regions) {
        api->remove_credential(access_key);
    }
}

void S3Regions::set_buckets(const std::string& access_key,
                            const std::vector<std::string>& buckets) {
    std::lock_guard lock(m_mutex);
    auto it = m_credentials.find(access_key);
    if (it == m_credentials.end()) {
        return;
    }
    it->second.buckets = buckets;
    for (auto& [name, api] : m_regions) {
        api->add_credential(it->second);
    }
}

}  // namespace pgdr::twin
