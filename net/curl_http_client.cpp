#include "net/curl_http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <string>

#include "core/strings.hpp"

namespace pgdr::net {

namespace {

struct EasyDeleter {
    void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init is not thread-safe; it must run once before the first handle exists.
void global_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
    HttpResponse response;
    std::size_t max_bytes = 0;
    bool too_large = false;
};

extern "C" std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    if (t->response.body.size() + n > t->max_bytes) {
        t->too_large = true;
        return 0;  // makes curl abort with CURLE_WRITE_ERROR
    }
    t->response.body.append(data, n);
    return n;
}

extern "C" std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    std::string line(data, n);
    // A new status line starts a new header block (after "100 Continue"): keep only the last.
    if (line.rfind("HTTP/", 0) == 0) {
        t->response.headers.clear();
        return n;
    }
    auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = trim(line.substr(0, colon));
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        t->response.headers[name] = trim(line.substr(colon + 1));
    }
    return n;
}

HttpFailure classify(CURLcode code, CURL* handle) {
    switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
        case CURLE_URL_MALFORMAT:
            return HttpFailure::connect;
        case CURLE_UNSUPPORTED_PROTOCOL: {
            // Before connecting: a URL scheme curl refuses; after: an HTTP/0.9-style answer.
            curl_off_t connected_us = 0;
            curl_easy_getinfo(handle, CURLINFO_CONNECT_TIME_T, &connected_us);
            return connected_us == 0 ? HttpFailure::connect : HttpFailure::protocol;
        }
        case CURLE_OPERATION_TIMEDOUT: {
            // The same code covers the connect timeout; if no connection was ever made the
            // request was not sent, which matters to the caller's retry decision.
            curl_off_t connected_us = 0;
            curl_easy_getinfo(handle, CURLINFO_CONNECT_TIME_T, &connected_us);
            return connected_us == 0 ? HttpFailure::connect : HttpFailure::timeout;
        }
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_USE_SSL_FAILED:
            return HttpFailure::tls;
        default:
            return HttpFailure::protocol;
    }
}

std::string kind_name(HttpFailure kind) {
    switch (kind) {
        case HttpFailure::connect:
            return "cannot connect";
        case HttpFailure::timeout:
            return "timed out";
        case HttpFailure::tls:
            return "TLS failure";
        case HttpFailure::protocol:
            return "bad or interrupted answer";
    }
    return "failure";
}

// The URL without its query string: queries may carry ids but never belong in messages whole.
std::string url_for_message(const std::string& url) {
    return url.substr(0, url.find('?'));
}

}  // namespace

CurlHttpClient::CurlHttpClient(std::size_t max_response_bytes)
    : m_max_response_bytes(max_response_bytes) {
    global_init_once();
}

HttpResponse CurlHttpClient::send(const HttpRequest& request) {
    EasyHandle handle(curl_easy_init());
    if (!handle) {
        throw HttpTransportError(HttpFailure::protocol, "curl_easy_init failed");
    }
    CURL* h = handle.get();
    Transfer transfer;
    transfer.max_bytes = m_max_response_bytes;
    char error_buffer[CURL_ERROR_SIZE] = {0};

    HeaderList headers;
    auto append = [&headers](const std::string& line) {
        curl_slist* next = curl_slist_append(headers.get(), line.c_str());
        if (next == nullptr) {
            throw HttpTransportError(HttpFailure::protocol, "out of memory building headers");
        }
        headers.release();
        headers.reset(next);
    };
    for (const auto& [name, value] : request.headers) {
        append(name + ": " + value);
    }
    // curl would otherwise wait up to a second for "100 Continue" before sending a body.
    append("Expect:");

    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
        // The exact bytes given are sent (they are the bytes the caller signed).
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(request.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    if (!m_tls.ca_file.empty()) {
        curl_easy_setopt(h, CURLOPT_CAINFO, m_tls.ca_file.c_str());
    }
    if (!m_tls.cert_file.empty()) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, m_tls.cert_file.c_str());
        curl_easy_setopt(h, CURLOPT_SSLKEY, m_tls.key_file.c_str());
    }

    const CURLcode code = curl_easy_perform(h);
    if (code != CURLE_OK) {
        HttpFailure kind = transfer.too_large ? HttpFailure::protocol : classify(code, h);
        std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
        if (transfer.too_large) {
            detail = "answer larger than " + std::to_string(m_max_response_bytes) + " bytes";
        }
        throw HttpTransportError(kind, request.method + " " + url_for_message(request.url) + ": " +
                                           kind_name(kind) + " (" + detail + ")");
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    transfer.response.status = static_cast<int>(status);
    return std::move(transfer.response);
}

}  // namespace pgdr::net
