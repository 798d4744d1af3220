// A SigV4-signing S3 client for unit tests of the twin's Object Storage (twin/s3.hpp): it signs
// as pgBackRest does (every header but Authorization and Content-Length) and hands the request
// straight to an S3Api.
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "twin/s3.hpp"

namespace pgdr::fakes {

struct S3Client {
    twin::S3Api& api;
    Clock& clock;
    std::string access = "AKPGDRTEST";
    std::string secret = "test-secret-not-a-real-one";
    std::string region = "gra";

    twin::S3Reply call(const std::string& method, const std::string& target,
                       const std::string& body = {},
                       std::map<std::string, std::string> extra = {}) {
        HttpRequest req;
        req.method = method;
        req.url = target;
        req.body = body;
        const auto t = std::chrono::system_clock::to_time_t(clock.wall_now());
        std::tm tm{};
        gmtime_r(&t, &tm);
        char amz[32];
        std::strftime(amz, sizeof amz, "%Y%m%dT%H%M%SZ", &tm);
        req.headers = std::move(extra);
        req.headers["Host"] = "s3.gra.io.cloud.ovh.net";
        req.headers["x-amz-date"] = amz;
        if (!req.headers.count("x-amz-content-sha256")) {
            req.headers["x-amz-content-sha256"] = twin::sigv4::sha256_hex(body);
        }
        std::vector<std::string> names;
        for (const auto& [k, v] : req.headers) {
            std::string l = k;
            std::transform(l.begin(), l.end(), l.begin(),
                           [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
            names.push_back(l);
        }
        std::sort(names.begin(), names.end());
        const auto q = target.find('?');
        const std::string path = target.substr(0, q);
        const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
        const std::string date = std::string(amz).substr(0, 8);
        std::string signed_names;
        for (const auto& n : names) {
            signed_names += (signed_names.empty() ? "" : ";") + n;
        }
        req.headers["Authorization"] =
            "AWS4-HMAC-SHA256 Credential=" + access + "/" + date + "/" + region +
            "/s3/aws4_request,SignedHeaders=" + signed_names + ",Signature=" +
            twin::sigv4::signature(
                secret, date, region, "s3", amz,
                twin::sigv4::canonical_request(method, path, query, req.headers, names,
                                               req.headers["x-amz-content-sha256"]));
        return api.handle(req);
    }
};

}  // namespace pgdr::fakes
