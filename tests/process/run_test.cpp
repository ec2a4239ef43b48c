#include "process/run.hpp"

#include <catch2/catch.hpp>

using namespace podtrace::process;

TEST_CASE("run collects both outputs and the exit status, stdin empty") {
    auto r = run({"sh", "-c", "cat; echo out; echo err >&2; exit 3"});
    REQUIRE(r.has_value());
    CHECK(r->status == 3);
    CHECK(r->out == "out\n");
    CHECK(r->err == "err\n");
    auto killed = run({"sh", "-c", "kill -TERM $$"});
    REQUIRE(killed.has_value());
    CHECK(killed->status == 128 + 15);
}

TEST_CASE("a program that cannot start is status 127, as a shell says it") {
    auto r = run({"/nonexistent/program"});
    REQUIRE(r.has_value());
    CHECK(r->status == 127);
    CHECK(r->err == "/nonexistent/program: No such file or directory");
}

TEST_CASE("command lines and output ends, for messages") {
    CHECK(command_line({"ip", "-n", "ptlab-k8s-w1", "link"}) == "ip -n ptlab-k8s-w1 link");
    CHECK(command_line({"sh", "-c", "echo 'x' >&2", ""}) == "sh -c 'echo '\\''x'\\'' >&2' ''");
    CHECK(last_lines("a\n\nb\nc\n", 2) == "b\nc\n");
    CHECK(last_lines("a", 5) == "a\n");
    CHECK(last_lines("\n\n", 3) == "(no output)\n");
}
