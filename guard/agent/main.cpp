// pgdr-guard: the fenced fast failover agent (issue 18). `pgdr bootstrap` installs it on the
// hosts the inventory's guard section names, with its configuration, its etcd client certificate
// and a provider credential limited to the power routes, as the systemd unit pgdr-guard.service.
//
//   pgdr-guard --config /etc/pgdr-guard/guard.json [--once | --check]
//
// --once runs one loop step; --check (bootstrap's last step on each guard host) checks that
// etcd answers with Patroni's keys and that the provider's API answers for every member's
// instance with its expected name and address.
//
// It links only what it needs (libcurl, OpenSSL, the C++ runtime), so the binary built with
// pgdr runs on Debian 12 and 13 hosts alike.
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "core/interrupt.hpp"
#include "core/log.hpp"
#include "guard/agent.hpp"
#include "guard/agent_config.hpp"
#include "guard/dcs.hpp"
#include "net/curl_http_client.hpp"
#include "ovh/client.hpp"
#include "ovh/credentials.hpp"
#include "ovh/host_control.hpp"
#include "ovh/resources.hpp"

namespace {

int usage() {
    std::cerr << "usage: pgdr-guard --config FILE [--once | --check]\n";
    return 2;
}

enum class Mode { run, once, check };

// --check: etcd answers with Patroni's keys, the provider with every member's instance.
int check(const pgdr::guard::AgentConfig& config, pgdr::guard::EtcdGateway& etcd,
          pgdr::ovh::OvhHostControl& provider) {
    using namespace pgdr;
    int failures = 0;
    try {
        const auto view = guard::parse_dcs(etcd.get_prefix(config.dcs_prefix), config.dcs_prefix);
        std::cout << "etcd: " << view.members.size() << " Patroni member(s), leader '"
                  << view.leader << "'" << std::endl;
        if (view.members.empty()) {
            std::cout << "etcd: no Patroni member under " << config.dcs_prefix << std::endl;
            ++failures;
        }
    } catch (const std::exception& e) {
        std::cout << "etcd: " << e.what() << std::endl;
        ++failures;
    }
    for (const auto& m : config.members) {
        try {
            provider.verify(m.name);
            std::cout << "provider: " << m.name << " is " << to_string(provider.state(m.name))
                      << std::endl;
        } catch (const std::exception& e) {
            std::cout << "provider: " << m.name << ": " << e.what() << std::endl;
            ++failures;
        }
    }
    return failures == 0 ? 0 : 1;
}

int run(const std::string& config_path, Mode mode) {
    using namespace pgdr;
    std::ifstream in(config_path);
    if (!in) {
        std::cerr << "pgdr-guard: cannot read " << config_path << "\n";
        return 3;
    }
    std::stringstream text;
    text << in.rdbuf();
    const guard::AgentConfig config = guard::parse_agent_config(text.str());

    net::CurlHttpClient etcd_http;
    etcd_http.use_tls({config.etcd_ca_file, config.etcd_cert_file, config.etcd_key_file});
    guard::EtcdGateway etcd(etcd_http, config.etcd_endpoints, std::chrono::milliseconds(1000));

    SystemClock clock;
    Logger log(std::cerr, 0);
    ovh::CredentialSources sources;
    sources.files = {config.provider.credentials_file};
    ovh::Credentials creds = ovh::load_credentials(sources, config.provider.endpoint);
    ovh::require_complete(creds);
    net::CurlHttpClient ovh_http;
    ovh_http.use_tls({config.provider.ca_file, "", ""});
    ovh::ClientOptions options;
    options.timeout = std::chrono::seconds(5);
    options.connect_timeout = std::chrono::seconds(2);
    options.retry.max_attempts = 2;
    options.retry.base_delay = std::chrono::milliseconds(200);
    options.retry.max_delay = std::chrono::seconds(1);
    options.retry.max_retry_after = std::chrono::seconds(2);
    options.user_agent = "pgdr-guard";
    ovh::Client client(ovh_http, clock, log, creds, options);
    ovh::WaitOptions wait;
    wait.timeout = config.settings.fence_timeout;
    wait.first_poll = std::chrono::milliseconds(200);
    wait.max_poll = std::chrono::seconds(1);
    ovh::ProjectApi api(client, clock, log, config.provider.project_id, wait);
    std::map<std::string, std::string> ids;
    ovh::OvhHostControlOptions host_options;
    for (const auto& [member, instance] : config.provider.instances) {
        ids[member] = instance.id;
        host_options.expected[member] = {instance.name, instance.address};
    }
    ovh::OvhHostControl provider(api, clock, ids, host_options);

    const auto timeout = config.probe_timeout;
    // Patroni's REST ports speak TLS (a handshake per probe, not a bare connect).
    std::set<int> tls_ports;
    for (const auto& m : config.members) {
        tls_ports.insert(m.rest_port);
    }
    const guard::TlsProbe tls(config.etcd_cert_file, config.etcd_key_file);
    guard::AgentWorld world{etcd,
                            provider,
                            [&tls, &tls_ports, timeout](const std::string& address, int port) {
                                return tls_ports.count(port) != 0
                                           ? tls.reach(address, port, timeout)
                                           : guard::tcp_reach(address, port, timeout);
                            },
                            [] { return std::chrono::system_clock::now(); },
                            [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); },
                            std::cout};
    if (mode == Mode::check) {
        return check(config, etcd, provider);
    }
    guard::Agent agent(config, world);
    std::cout << guard::iso_ms(std::chrono::system_clock::now()) << " pgdr-guard " << config.agent
              << " watching " << config.dcs_prefix << " (quorum " << config.settings.quorum
              << ", unreachable after " << config.settings.unreachable_after.count() << " ms)"
              << std::endl;
    if (mode == Mode::once) {
        agent.step();
        return 0;
    }
    const InterruptGuard stop;  // SIGTERM (systemctl stop), SIGINT: the loop ends cleanly
    agent.run(InterruptGuard::flag());
    std::cout << guard::iso_ms(std::chrono::system_clock::now()) << " pgdr-guard stopped"
              << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string config;
    Mode mode = Mode::run;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            config = argv[++i];
        } else if (arg == "--once") {
            mode = Mode::once;
        } else if (arg == "--check") {
            mode = Mode::check;
        } else {
            return usage();
        }
    }
    if (config.empty()) {
        return usage();
    }
    try {
        return run(config, mode);
    } catch (const std::exception& e) {
        std::cerr << "pgdr-guard: " << e.what() << "\n";
        return 1;
    }
}
