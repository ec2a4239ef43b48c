#include <catch2/catch.hpp>
#include <unistd.h>

#include "lab/netns.hpp"
#include "lab/topology.hpp"
#include "helpers.hpp"

using namespace podtrace::lab;
using podtrace::test::require;

TEST_CASE("run captures output and exit status; must names the failing command") {
    auto r = require(run({"sh", "-c", "echo out; echo err >&2; exit 3"}));
    CHECK(r.status == 3);
    CHECK(r.out == "out\n");
    CHECK(r.err == "err\n");
    CHECK(require(run({"/nonexistent/program"})).status == 127);
    auto failed = must({"sh", "-c", "echo 'no such thing' >&2; exit 2"});
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().message ==
          "`sh -c 'echo '\\''no such thing'\\'' >&2; exit 2'` failed (exit 2): no such thing");
}

TEST_CASE("the lab's table: modes, MTUs, encapsulation per node pair") {
    CHECK(parse_mode("vxlan") == Mode::vxlan);
    CHECK(!parse_mode("bgp"));
    CHECK(tunnel_mtu(Mode::ipip) == 8981);  // the seed's tunl0
    CHECK(tunnel_mtu(Mode::vxlan) == 8951);
    CHECK(tunnel_mtu(Mode::wireguard) == 8941);
    CHECK(encapsulation(Mode::crosssubnet, "k8s-w1", "k8s-w2") == "");
    CHECK(encapsulation(Mode::crosssubnet, "k8s-w1", "k8s-w0") == "ipip");
    CHECK(node_netns("k8s-w1") == "ptlab-k8s-w1");
    CHECK(node("k8s-w9") == nullptr);
}
