#include "process/spawn.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "process/fd.hpp"
#include "process/run.hpp"

using namespace podtrace::process;

namespace {

int wait_exit(pid_t pid) {
    int ws = 0;
    waitpid(pid, &ws, 0);
    return exit_code(ws);
}

std::string read_all(int fd) {
    std::string text;
    char buf[256];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) text.append(buf, n);
    return text;
}

}  // namespace

TEST_CASE("spawn places descriptors: standard streams, then 3, 4, ...") {
    int a[2], b[2];
    REQUIRE(pipe2(a, O_CLOEXEC) == 0);
    REQUIRE(pipe2(b, O_CLOEXEC) == 0);
    Fd a_r(a[0]), a_w(a[1]), b_r(b[0]), b_w(b[1]);
    // Crossed on purpose: the child's stdout is b, its descriptor 3 is a, 4 is b again.
    auto pid = spawn({"sh", "-c", "echo one; echo three >&3; echo four >&4; exit 5"},
                     {.out = b_w.get(), .fds = {a_w.get(), b_w.get()}});
    REQUIRE(pid.has_value());
    a_w.reset();
    b_w.reset();
    CHECK(wait_exit(*pid) == 5);
    CHECK(read_all(a_r.get()) == "three\n");
    CHECK(read_all(b_r.get()) == "one\nfour\n");
}

TEST_CASE("spawn: its own process group on request") {
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    Fd r(p[0]), w(p[1]);
    auto pid = spawn({"sh", "-c", "cut -d' ' -f5 /proc/$$/stat"},  // its process group
                     {.out = w.get(), .group = SpawnOptions::Group::own});
    REQUIRE(pid.has_value());
    w.reset();
    const std::string pgid = read_all(r.get());
    CHECK(wait_exit(*pid) == 0);
    CHECK(std::stoi(pgid) == *pid);
}

TEST_CASE("spawn: a program that cannot be executed is the reason alone") {
    auto pid = spawn({"/nonexistent/program"});
    REQUIRE_FALSE(pid.has_value());
    CHECK(pid.error().message == "No such file or directory");
    auto bad_fd = spawn({"true"}, {.fds = {1000}});
    REQUIRE_FALSE(bad_fd.has_value());
    CHECK(bad_fd.error().message == "set up descriptors: Bad file descriptor");
}

TEST_CASE("self_exe is this test program") {
    auto exe = self_exe();
    REQUIRE(exe.has_value());
    CHECK(exe->ends_with("/process_tests"));
}
