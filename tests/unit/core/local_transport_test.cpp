// LocalTransport: the Transport contract on this machine (exit status, output, stdin,
// timeouts that kill the whole process group) and put_file through the real put_file_argv.
#include "core/local_transport.hpp"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "core/files.hpp"
#include "unit/core/temp_dir.hpp"

using pgdr::LocalTransport;
using pgdr::RunOptions;
using namespace std::chrono_literals;

namespace {

RunOptions with_timeout(std::chrono::milliseconds t) {
    RunOptions o;
    o.timeout = t;
    return o;
}

// True when pid is gone or a zombie waiting for its (new) parent.
bool process_gone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) {
        return true;
    }
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

}  // namespace

TEST_CASE("local transport: exit status, stdout and stderr are data", "[local_transport]") {
    LocalTransport local;
    CHECK(local.host_name() == "localhost");
    CHECK(LocalTransport("lab-pg1").host_name() == "lab-pg1");

    auto ok = local.run({"sh", "-c", "printf 'out\\n'; printf 'err' >&2"}, with_timeout(10s));
    CHECK(ok.exit_status == 0);
    CHECK(ok.ok());
    CHECK_FALSE(ok.timed_out);
    CHECK(ok.out == "out\n");
    CHECK(ok.err == "err");

    auto failed = local.run({"sh", "-c", "exit 42"}, with_timeout(10s));
    CHECK(failed.exit_status == 42);
    CHECK_FALSE(failed.ok());

    auto missing = local.run({"/nonexistent/pgdr-binary"}, with_timeout(10s));
    CHECK(missing.exit_status == 127);
    CHECK(missing.err == "pgdr: cannot execute command\n");

    // No shell in between: the words arrive as they are.
    auto words = local.run({"printf", "%s|", "a b", "$(id)", "*"}, with_timeout(10s));
    CHECK(words.out == "a b|$(id)|*|");

    // Killed by a signal: -1, not a made-up exit code.
    auto killed = local.run({"sh", "-c", "kill -9 $$"}, with_timeout(10s));
    CHECK(killed.exit_status == -1);
    CHECK_FALSE(killed.timed_out);

    CHECK_THROWS_AS(local.run({}, with_timeout(1s)), pgdr::Error);
}

TEST_CASE("local transport: large outputs on both streams do not deadlock", "[local_transport]") {
    LocalTransport local;
    auto r = local.run({"sh", "-c", "head -c 1000000 /dev/zero; head -c 700000 /dev/zero >&2"},
                       with_timeout(30s));
    CHECK(r.ok());
    CHECK(r.out.size() == 1000000);
    CHECK(r.err.size() == 700000);
}

TEST_CASE("local transport: stdin is fed, then EOF", "[local_transport]") {
    LocalTransport local;
    RunOptions o = with_timeout(30s);
    o.stdin_data = std::string("line one\nline two\n") + std::string(1, '\0') + "after nul";
    auto r = local.run({"cat"}, o);
    CHECK(r.ok());
    CHECK(r.out == *o.stdin_data);

    // More than a pipe holds, echoed back while it is still being written.
    o.stdin_data = std::string(3 * 1024 * 1024, 'x');
    auto big = local.run({"wc", "-c"}, o);
    CHECK(big.out == "3145728\n");

    // Without stdin_data the command reads EOF at once.
    auto none = local.run({"cat"}, with_timeout(10s));
    CHECK(none.ok());
    CHECK(none.out.empty());
}

TEST_CASE("local transport: a command that does not read its stdin", "[local_transport]") {
    // The write end sees EPIPE; that must neither kill the caller (SIGPIPE) nor hang.
    LocalTransport local;
    RunOptions o = with_timeout(10s);
    o.stdin_data = std::string(4 * 1024 * 1024, 'y');
    auto r = local.run({"sh", "-c", "exec 0<&-; echo done"}, o);
    CHECK(r.exit_status == 0);
    CHECK(r.out == "done\n");
}

TEST_CASE("local transport: a timeout kills the process group and is reported",
          "[local_transport]") {
    LocalTransport local;
    auto t0 = std::chrono::steady_clock::now();
    // The child starts a grandchild, prints its pid, and both would sleep for a minute.
    auto r = local.run({"sh", "-c", "sleep 60 & echo $!; sleep 60"}, with_timeout(500ms));
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(r.timed_out);
    CHECK(r.exit_status == -1);
    CHECK_FALSE(r.ok());
    CHECK(took < 5s);
    CHECK(r.elapsed >= 500ms);
    const pid_t grandchild = std::stoi(r.out);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        gone = process_gone(grandchild);
        std::this_thread::sleep_for(20ms);
    }
    CHECK(gone);
}

TEST_CASE("local transport: the timeout holds when the command closes its output",
          "[local_transport]") {
    // No more output to wait for, but the command is still running: it must still be killed at
    // the deadline, not waited for.
    LocalTransport local;
    auto t0 = std::chrono::steady_clock::now();
    auto r = local.run({"sh", "-c", "exec >/dev/null 2>&1; sleep 30"}, with_timeout(500ms));
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(r.timed_out);
    CHECK(r.exit_status == -1);
    CHECK(took < 5s);
}

TEST_CASE("local transport: put_file through the real put_file_argv script",
          "[local_transport][put_file]") {
    pgdr::test::TempDir dir;
    LocalTransport local;
    const std::string path = dir.path() + "/etc/pgdr/patroni.yml";
    std::string err;

    const std::string content = "scope: lab\n# it's \"quoted\" $(not run)\n" +
                                std::string(1, '\0') + std::string(200000, 'z');
    REQUIRE(local.put_file(path, content, {"0640", ""}, &err));
    CHECK(err.empty());
    CHECK(pgdr::read_text_file(path) == content);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);

    // Replaced atomically: a new inode renamed over the old one, so a reader that opened the
    // old file keeps reading the old content, complete.
    std::ifstream reader(path, std::ios::binary);
    REQUIRE(local.put_file(path, "second\n", {"0600", ""}, &err));
    std::string old_content((std::istreambuf_iterator<char>(reader)),
                            std::istreambuf_iterator<char>());
    CHECK(old_content == content);
    CHECK(pgdr::read_text_file(path) == std::string("second\n"));
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);

    // A failure (unknown owner) leaves the file as it was and no temporary file behind.
    CHECK_FALSE(local.put_file(path, "third\n", {"0644", "no-such-user-pgdr"}, &err));
    CHECK(err.find("no-such-user-pgdr") != std::string::npos);
    CHECK(pgdr::read_text_file(path) == std::string("second\n"));
    size_t entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/etc/pgdr")) {
        CHECK(e.path().filename() == "patroni.yml");
        ++entries;
    }
    CHECK(entries == 1);

    // A hostile path is one argument, never shell text.
    const std::string odd = dir.path() + "/a dir/$(touch pwned)/it's;x";
    REQUIRE(local.put_file(odd, "odd\n", {"0644", ""}, &err));
    CHECK(pgdr::read_text_file(odd) == std::string("odd\n"));
    CHECK_FALSE(std::filesystem::exists("pwned"));

    CHECK_THROWS_AS(local.put_file("relative/path", "x", {"0644", ""}), std::invalid_argument);
    CHECK_THROWS_AS(local.put_file("/tmp/x", "x", {"0644; id", ""}), std::invalid_argument);

    auto read_back = local.read_file(path);
    REQUIRE(read_back);
    CHECK(*read_back == "second\n");
    CHECK_FALSE(local.read_file(dir.path() + "/missing"));
}

TEST_CASE("local transport: put_file never installs a transfer cut short",
          "[local_transport][put_file]") {
    // Issue 13 item 6: a cut SSH connection ends stdin early; the host must check the size and
    // sha256 of what arrived and keep the old file.
    pgdr::test::TempDir dir;
    LocalTransport local;
    const std::string path = dir.path() + "/patroni.yml";
    std::string err;
    REQUIRE(local.put_file(path, "complete: old\n", {"0600", ""}, &err));

    const std::string full = "scope: lab\n" + std::string(5000, 'x') + "\nend\n";
    RunOptions opts = with_timeout(10s);
    opts.stdin_data = full.substr(0, 1000);  // what arrived before the connection dropped
    auto cut = local.run(pgdr::put_file_argv(path, {"0600", ""}, full), opts);
    CHECK(cut.exit_status == 3);
    CHECK(cut.err.find("received 1000 of " + std::to_string(full.size()) + " bytes") !=
          std::string::npos);
    CHECK(pgdr::read_text_file(path) == std::string("complete: old\n"));

    // Same size, different bytes: the checksum refuses it.
    std::string corrupt = full;
    corrupt[20] = 'y';
    opts.stdin_data = corrupt;
    auto bad = local.run(pgdr::put_file_argv(path, {"0600", ""}, full), opts);
    CHECK(bad.exit_status == 3);
    CHECK(bad.err.find("sha256") != std::string::npos);
    CHECK(pgdr::read_text_file(path) == std::string("complete: old\n"));

    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) {
        ++entries;
    }
    CHECK(entries == 1);  // no temporary file left behind

    opts.stdin_data = full;
    auto good = local.run(pgdr::put_file_argv(path, {"0600", ""}, full), opts);
    CHECK(good.ok());
    CHECK(pgdr::read_text_file(path) == full);
}

TEST_CASE("local transport: put_file sets the owner (as root)", "[local_transport][put_file]") {
    if (::geteuid() != 0) {
        WARN("not root: chown to nobody cannot be tested");
        return;
    }
    const passwd* nobody = ::getpwnam("nobody");
    REQUIRE(nobody != nullptr);
    pgdr::test::TempDir dir;
    LocalTransport local;
    const std::string path = dir.path() + "/owned";
    std::string err;
    REQUIRE(local.put_file(path, "secret\n", {"0600", "nobody"}, &err));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(st.st_uid == nobody->pw_uid);
    CHECK((st.st_mode & 07777) == 0600);

    REQUIRE(local.put_file(path, "again\n", {"0640", "nobody:root"}, &err));
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(st.st_uid == nobody->pw_uid);
    CHECK(st.st_gid == 0u);
    CHECK((st.st_mode & 07777) == 0640);
}

TEST_CASE("local transport: a timeout with a grace sends SIGTERM first, SIGKILL later",
          "[local_transport][grace]") {
    // Issue 13 item 5: a runbook drill step's timeout must let the child drill restore.
    LocalTransport local;
    // Traps SIGTERM, "restores", exits 3: the output after the TERM is kept.
    RunOptions o = with_timeout(500ms);
    o.kill_grace = 10s;
    auto r = local.run({"sh", "-c",
                        "trap 'echo restored; exit 3' TERM; echo started; "
                        "while :; do sleep 0.05; done"},
                       o);
    CHECK(r.timed_out);
    CHECK(r.out == "started\nrestored\n");

    // Ignores SIGTERM: killed at the end of the grace.
    o.kill_grace = 300ms;
    auto t0 = std::chrono::steady_clock::now();
    auto stubborn =
        local.run({"sh", "-c", "trap '' TERM; echo started; while :; do sleep 0.05; done"}, o);
    CHECK(stubborn.timed_out);
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);

    // The cancel flag (Ctrl-C in the parent) sends the same SIGTERM before the timeout.
    std::atomic<bool> cancel{false};
    RunOptions c = with_timeout(30s);
    c.kill_grace = 10s;
    c.cancel = &cancel;
    std::thread setter([&cancel] {
        std::this_thread::sleep_for(300ms);
        cancel = true;
    });
    auto cancelled = local.run({"sh", "-c",
                                "trap 'echo restored; exit 130' TERM; "
                                "while :; do sleep 0.05; done"},
                               c);
    setter.join();
    CHECK_FALSE(cancelled.timed_out);
    CHECK(cancelled.exit_status == 130);
    CHECK(cancelled.out == "restored\n");
}
