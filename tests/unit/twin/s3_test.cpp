// The twin's Object Storage (twin/s3.hpp): SigV4 against AWS's published examples, then the
// operations pgBackRest uses, signed as a client signs them, on a temporary directory.
#include "twin/s3.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fakes/manual_clock.hpp"
#include "fakes/s3_client.hpp"

using namespace pgdr;
using namespace pgdr::twin;
using Client = pgdr::fakes::S3Client;
namespace fs = std::filesystem;

namespace {

const std::string k_empty_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/pgdr-s3-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string path;
};

std::string slurp(const std::string& path, std::uint64_t offset, std::uint64_t length) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    std::string out(length, '\0');
    in.read(out.data(), static_cast<std::streamsize>(length));
    return out;
}

struct Rig {
    TempDir dir;
    fakes::ManualClock clock;
    S3Api api{S3Config{}, dir.path + "/s3", clock};
    Client client{api, clock};
    Rig() {
        api.add_credential({"AKPGDRTEST", "test-secret-not-a-real-one", {"shop-db-backup"}, false});
        api.ensure_bucket("shop-db-backup");
    }
};

}  // namespace

TEST_CASE("s3 sigv4: AWS's published examples", "[twin][s3]") {
    // docs.aws.amazon.com, "Signature Version 4 test suite", get-vanilla.
    const std::string vanilla = sigv4::canonical_request(
        "GET", "/", "", {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
        {"host", "x-amz-date"}, k_empty_sha256);
    CHECK(sigv4::signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1",
                           "service", "20150830T123600Z", vanilla) ==
          "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    // Amazon S3 API reference, "Example: GET Object" (header-based authentication).
    const std::string get_object = sigv4::canonical_request(
        "GET", "/test.txt", "",
        {{"Host", "examplebucket.s3.amazonaws.com"},
         {"Range", "bytes=0-9"},
         {"x-amz-content-sha256", k_empty_sha256},
         {"x-amz-date", "20130524T000000Z"}},
        {"host", "range", "x-amz-content-sha256", "x-amz-date"}, k_empty_sha256);
    CHECK(sigv4::signature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1",
                           "s3", "20130524T000000Z", get_object) ==
          "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK(sigv4::canonical_query("prefix=a%2Fb&list-type=2&delete") ==
          "delete=&list-type=2&prefix=a%2Fb");
    CHECK(sigv4::uri_encode("a b/c~", true) == "a%20b/c~");
}

TEST_CASE("s3: requests are checked as S3 checks them", "[twin][s3]") {
    Rig rig;
    SECTION("no signature") {
        HttpRequest req;
        req.url = "/shop-db-backup/x";
        auto r = rig.api.handle(req);
        CHECK(r.status == 403);
        CHECK(r.body.find("<Code>AccessDenied</Code>") != std::string::npos);
    }
    SECTION("unknown access key") {
        rig.client.access = "AKNOBODY";
        CHECK(rig.client.call("GET", "/shop-db-backup/x").body.find("InvalidAccessKeyId") !=
              std::string::npos);
    }
    SECTION("wrong secret") {
        rig.client.secret = "another";
        auto r = rig.client.call("PUT", "/shop-db-backup/x", "data");
        CHECK(r.status == 403);
        CHECK(r.body.find("SignatureDoesNotMatch") != std::string::npos);
    }
    SECTION("another region in the scope") {
        rig.client.region = "sbg";
        auto r = rig.client.call("GET", "/shop-db-backup/x");
        CHECK(r.status == 400);
        CHECK(r.body.find("expecting &apos;gra&apos;") != std::string::npos);
    }
    SECTION("a body that is not the one signed") {
        auto r = rig.client.call("PUT", "/shop-db-backup/x", "data",
                                 {{"x-amz-content-sha256", sigv4::sha256_hex("other")}});
        CHECK(r.status == 400);
        CHECK(r.body.find("XAmzContentSHA256Mismatch") != std::string::npos);
    }
    SECTION("a request signed 20 minutes ago") {
        fakes::ManualClock earlier(rig.clock.wall_now() - std::chrono::minutes(20));
        Client late{rig.api, earlier};
        auto r = late.call("GET", "/shop-db-backup/x");
        CHECK(r.status == 403);
        CHECK(r.body.find("RequestTimeTooSkewed") != std::string::npos);
        fakes::ManualClock recent(rig.clock.wall_now() - std::chrono::minutes(10));
        Client in_window{rig.api, recent};
        CHECK(in_window.call("GET", "/shop-db-backup/x").status == 404);  // NoSuchKey
    }
    SECTION("a credential scoped to another bucket") {
        rig.api.ensure_bucket("other-bucket");
        auto r = rig.client.call("GET", "/other-bucket?list-type=2");
        CHECK(r.status == 403);
        CHECK(r.body.find("AccessDenied") != std::string::npos);
    }
}

TEST_CASE("s3: objects, listings and deletes as pgBackRest uses them", "[twin][s3]") {
    Rig rig;
    auto& c = rig.client;
    const std::string wal =
        "pgbackrest/archive/shop-db/17-1/0000000100000000/"
        "000000010000000000000001-0123456789abcdef.gz";
    auto put = c.call("PUT", "/shop-db-backup/" + sigv4::uri_encode(wal, true), "segment");
    REQUIRE(put.status == 200);
    CHECK(put.headers.at("ETag") == "\"fdd32b9061681edb52c554bd9bbf0712\"");  // MD5, as S3
    c.call("PUT", "/shop-db-backup/pgbackrest/archive/shop-db/archive.info", "info");
    c.call("PUT", "/shop-db-backup/pgbackrest/backup/shop-db/backup.info", "binfo");

    SECTION("get, head and a range") {
        auto get = c.call("GET", "/shop-db-backup/" + sigv4::uri_encode(wal, true));
        REQUIRE(get.status == 200);
        CHECK(slurp(get.file, get.offset, get.length) == "segment");
        auto head = c.call("HEAD", "/shop-db-backup/" + sigv4::uri_encode(wal, true));
        CHECK(head.status == 200);
        CHECK(head.headers.at("Content-Length") == "7");
        CHECK(head.headers.count("Last-Modified") == 1);
        CHECK(head.file.empty());
        auto range = c.call("GET", "/shop-db-backup/" + sigv4::uri_encode(wal, true), "",
                            {{"Range", "bytes=2-4"}});
        CHECK(range.status == 206);
        CHECK(slurp(range.file, range.offset, range.length) == "gme");
        CHECK(range.headers.at("Content-Range") == "bytes 2-4/7");
        auto missing = c.call("HEAD", "/shop-db-backup/pgbackrest/nothing");
        CHECK(missing.status == 404);
        CHECK(missing.body.empty());  // HEAD has no body
    }
    SECTION("ListObjectsV2 with a delimiter, pages and continuation") {
        auto list = c.call("GET", "/shop-db-backup?delimiter=%2F&list-type=2&prefix=pgbackrest%2F");
        REQUIRE(list.status == 200);
        CHECK(list.body.find("<CommonPrefixes><Prefix>pgbackrest/archive/</Prefix>") !=
              std::string::npos);
        CHECK(list.body.find("<CommonPrefixes><Prefix>pgbackrest/backup/</Prefix>") !=
              std::string::npos);
        CHECK(list.body.find("<Contents>") == std::string::npos);
        auto page1 = c.call("GET", "/shop-db-backup?list-type=2&max-keys=2&prefix=pgbackrest%2F");
        CHECK(page1.body.find("<KeyCount>2</KeyCount>") != std::string::npos);
        CHECK(page1.body.find("<IsTruncated>true</IsTruncated>") != std::string::npos);
        const auto at = page1.body.find("<NextContinuationToken>") + 23;
        const std::string token =
            page1.body.substr(at, page1.body.find("</NextContinuationToken>") - at);
        auto page2 =
            c.call("GET", "/shop-db-backup?continuation-token=" + sigv4::uri_encode(token, false) +
                              "&list-type=2&max-keys=2&prefix=pgbackrest%2F");
        CHECK(page2.body.find("<KeyCount>1</KeyCount>") != std::string::npos);
        CHECK(page2.body.find("backup.info") != std::string::npos);
        CHECK(page2.body.find("<IsTruncated>false</IsTruncated>") != std::string::npos);
        auto sizes = c.call("GET", "/shop-db-backup?list-type=2&prefix=pgbackrest%2Farchive%2F");
        CHECK(sizes.body.find("<Size>7</Size>") != std::string::npos);
        CHECK(sizes.body.find("<LastModified>2016-03-03T15:27:55.000Z</LastModified>") !=
              std::string::npos);
    }
    SECTION("DeleteObjects, quiet, and a bucket that must be empty to go") {
        auto not_empty = c.call("DELETE", "/shop-db-backup");
        CHECK(not_empty.status == 409);
        CHECK(not_empty.body.find("BucketNotEmpty") != std::string::npos);
        const std::string doc = "<?xml version=\"1.0\"?><Delete><Quiet>true</Quiet><Object><Key>" +
                                wal +
                                "</Key></Object><Object><Key>pgbackrest/archive/shop-db/"
                                "archive.info</Key></Object></Delete>";
        auto del = c.call("POST", "/shop-db-backup?delete=", doc);
        CHECK(del.status == 200);
        CHECK(del.body.find("<Deleted>") == std::string::npos);
        auto after = c.call("GET", "/shop-db-backup?list-type=2");
        CHECK(after.body.find("<KeyCount>1</KeyCount>") != std::string::npos);
    }
    SECTION("the index survives a restart of the twin") {
        S3Api again(S3Config{}, rig.dir.path + "/s3", rig.clock);
        again.add_credential({"AKPGDRTEST", "test-secret-not-a-real-one", {}, true});
        Client c2{again, rig.clock};
        auto get = c2.call("GET", "/shop-db-backup/pgbackrest/backup/shop-db/backup.info");
        REQUIRE(get.status == 200);
        CHECK(slurp(get.file, get.offset, get.length) == "binfo");
    }
}

TEST_CASE("s3: multipart upload", "[twin][s3]") {
    Rig rig;
    auto& c = rig.client;
    const std::string key = "/shop-db-backup/pgbackrest/backup/shop-db/20261204F/pg_data/base.gz";
    auto init = c.call("POST", key + "?uploads=");
    REQUIRE(init.status == 200);
    const auto at = init.body.find("<UploadId>") + 10;
    const std::string id = init.body.substr(at, init.body.find("</UploadId>") - at);
    const std::string part1(5 * 1024 * 1024, 'a');
    const std::string part2 = "tail";
    auto p1 = c.call("PUT", key + "?partNumber=1&uploadId=" + id, part1);
    auto p2 = c.call("PUT", key + "?partNumber=2&uploadId=" + id, part2);
    REQUIRE(p1.status == 200);
    REQUIRE(p2.status == 200);
    SECTION("completed: one object, the parts in order, an ETag with the part count") {
        const std::string doc = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                                p1.headers.at("ETag") +
                                "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>" +
                                p2.headers.at("ETag") + "</ETag></Part></CompleteMultipartUpload>";
        auto done = c.call("POST", key + "?uploadId=" + id, doc);
        REQUIRE(done.status == 200);
        CHECK(done.body.find("-2&quot;</ETag>") != std::string::npos);
        auto head = c.call("HEAD", key);
        CHECK(head.headers.at("Content-Length") == std::to_string(part1.size() + part2.size()));
        auto tail = c.call("GET", key, "", {{"Range", "bytes=5242880-"}});
        CHECK(slurp(tail.file, tail.offset, tail.length) == "tail");
        CHECK(c.call("POST", key + "?uploadId=" + id, doc).status == 404);  // NoSuchUpload
    }
    SECTION("a part whose ETag does not match is refused") {
        const std::string doc =
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"
            "\"00000000000000000000000000000000\"</ETag></Part>"
            "</CompleteMultipartUpload>";
        auto r = c.call("POST", key + "?uploadId=" + id, doc);
        CHECK(r.status == 400);
        CHECK(r.body.find("InvalidPart") != std::string::npos);
    }
    SECTION("aborted: nothing stored") {
        CHECK(c.call("DELETE", key + "?uploadId=" + id).status == 204);
        CHECK(c.call("HEAD", key).status == 404);
    }
}

TEST_CASE("s3: OVH regions, endpoints and a user's policy across regions", "[twin][s3]") {
    CHECK(s3_region_of("GRA11") == "gra");
    CHECK(s3_region_of("SBG5") == "sbg");
    CHECK(s3_region_of("RBX-A") == "rbx");
    CHECK(s3_region_of("DE1") == "de");
    CHECK(s3_region_of("EU-WEST-PAR") == "eu-west-par");
    TempDir dir;
    fakes::ManualClock clock;
    S3Regions regions(dir.path, clock, {"gra", "sbg"});
    REQUIRE(regions.by_host("s3.sbg.io.cloud.ovh.net:8443") == regions.region("sbg"));
    CHECK(regions.by_host("s3.waw.io.cloud.ovh.net") == nullptr);
    CHECK(regions.by_host("example.org") == nullptr);
    regions.region("sbg")->ensure_bucket("shop-db-backup");
    regions.add_credential({"AKUSER", "user-secret", {}, false});
    Client sbg{*regions.region("sbg"), clock, "AKUSER", "user-secret", "sbg"};
    CHECK(sbg.call("GET", "/shop-db-backup?list-type=2").status == 403);  // no policy yet
    regions.set_buckets("AKUSER", {"shop-db-backup"});
    CHECK(sbg.call("GET", "/shop-db-backup?list-type=2").status == 200);
    Client gra{*regions.region("gra"), clock, "AKUSER", "user-secret", "gra"};
    CHECK(gra.call("GET", "/shop-db-backup?list-type=2").status == 404);  // NoSuchBucket in gra
    regions.remove_credential("AKUSER");
    CHECK(sbg.call("GET", "/shop-db-backup?list-type=2").status == 403);
}
