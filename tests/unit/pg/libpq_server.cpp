#include "unit/pg/libpq_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

namespace pgdr::test {

namespace {

namespace fs = std::filesystem;

std::string find_bin_dir() {
    if (const char* env = std::getenv("PGDR_TEST_PG_BIN"); env != nullptr && env[0] != '\0') {
        return env;
    }
    std::vector<std::string> candidates;
    std::error_code ec;
    if (fs::is_directory("/usr/lib/postgresql", ec)) {
        for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
            candidates.push_back(e.path().string() + "/bin");
        }
    }
    candidates.push_back("/usr/local/bin");
    candidates.push_back("/usr/bin");
    for (const auto& dir : candidates) {
        if (::access((dir + "/initdb").c_str(), X_OK) == 0 &&
            ::access((dir + "/postgres").c_str(), X_OK) == 0) {
            return dir;
        }
    }
    return "";
}

int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
        port = ntohs(a.sin_port);
    }
    ::close(fd);
    return port;
}

// fork + exec as `user` (when root), output to `log`; returns the child's PID.
int spawn(const std::vector<std::string>& argv, const passwd* user, const std::string& log) {
    std::vector<char*> cargv;
    for (const auto& a : argv) {
        cargv.push_back(const_cast<char*>(a.c_str()));
    }
    cargv.push_back(nullptr);
    int pid = ::fork();
    if (pid == 0) {
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        ::setpgid(0, 0);
        if (user != nullptr && (::setgid(user->pw_gid) != 0 || ::setuid(user->pw_uid) != 0)) {
            ::_exit(126);
        }
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    return pid;
}

}  // namespace

std::unique_ptr<LocalPostgres> LocalPostgres::start(std::string& why_not) {
    const std::string bin = find_bin_dir();
    if (bin.empty()) {
        why_not = "no initdb found (set PGDR_TEST_PG_BIN)";
        return nullptr;
    }
    const passwd* user = nullptr;
    if (::geteuid() == 0) {
        user = ::getpwnam("postgres");
        if (user == nullptr) {
            user = ::getpwnam("nobody");
        }
        if (user == nullptr) {
            why_not = "running as root and no postgres or nobody user";
            return nullptr;
        }
    }
    std::string tmpl = (fs::temp_directory_path() / "pgdr-pg-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        why_not = "mkdtemp failed";
        return nullptr;
    }
    std::unique_ptr<LocalPostgres> pg(new LocalPostgres());
    pg->m_dir = tmpl;
    if (user != nullptr && ::chown(tmpl.c_str(), user->pw_uid, user->pw_gid) != 0) {
        why_not = "cannot chown " + tmpl;
        return nullptr;
    }
    std::mt19937_64 rng(std::random_device{}());
    const char* alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (int i = 0; i < 24; ++i) {
        pg->m_password += alphabet[rng() % 62];
    }
    const std::string pwfile = tmpl + "/pw";
    {
        std::ofstream f(pwfile);
        f << pg->m_password << "\n";
    }
    ::chmod(pwfile.c_str(), 0600);
    if (user != nullptr && ::chown(pwfile.c_str(), user->pw_uid, user->pw_gid) != 0) {
        why_not = "cannot chown the password file";
        return nullptr;
    }
    const std::string log = tmpl + "/log";
    int init = spawn({bin + "/initdb", "-D", tmpl + "/data", "-U", k_user, "--pwfile=" + pwfile,
                      "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"},
                     user, log);
    int status = 0;
    ::waitpid(init, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        why_not = "initdb failed (see " + log + ")";
        pg->m_dir.clear();  // keep the log for a look
        return nullptr;
    }
    pg->m_port = free_port();
    pg->m_pid = spawn(
        {bin + "/postgres", "-D", tmpl + "/data", "-k", tmpl, "-p", std::to_string(pg->m_port),
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=30"},
        user, log);
    // Ready when a connection succeeds; bounded.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        auto r = pg::Connection::connect(pg->params());
        if (r.connection) {
            return pg;
        }
        if (::waitpid(pg->m_pid, &status, WNOHANG) == pg->m_pid) {
            pg->m_pid = -1;
            why_not = "postgres exited at start (see " + log + ")";
            return nullptr;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    why_not = "postgres did not accept connections within 30 s";
    return nullptr;  // the destructor stops it
}

pg::ConnParams LocalPostgres::params(const std::string& dbname) const {
    pg::ConnParams p;
    p.host = "127.0.0.1";
    p.port = m_port;
    p.dbname = dbname;
    p.user = k_user;
    p.password = m_password;
    p.connect_timeout = std::chrono::milliseconds(3000);
    return p;
}

void LocalPostgres::stop() noexcept {
    if (m_pid <= 0) {
        return;
    }
    ::kill(m_pid, SIGINT);  // fast shutdown
    int status = 0;
    for (int i = 0; i < 100; ++i) {
        if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
            m_pid = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(-m_pid, SIGKILL);
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
}

LocalPostgres::~LocalPostgres() {
    stop();
    if (!m_dir.empty()) {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
}

}  // namespace pgdr::test
