#include <catch2/catch.hpp>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>
#include <vector>

#include "lab/netns.hpp"
#include "lab/traffic.hpp"
#include "helpers.hpp"

using namespace podtrace::lab;
using podtrace::test::require;
using namespace std::chrono_literals;

namespace {

// client --(MTU 9000)-- router --(MTU 1480)-- server: a path MTU below the client's own.
// The router blackholes one prefix and answers "unreachable" for another. These three
// namespaces have no link to anything else, so no test packet can leave them.
const std::string kClient = "ptlt-tr-client", kRouter = "ptlt-tr-router", kServer = "ptlt-tr-server";
const std::string kServerIp = "10.251.2.2";
const std::string kBlackholed = "10.251.3.3";
const std::string kUnreachable = "10.251.4.4";

void remove_namespaces() {
    for (const auto& ns : {kClient, kRouter, kServer})
        if (netns_exists(ns)) run({"ip", "netns", "del", ns});
}

struct TestNetwork {
    TestNetwork() {
        remove_namespaces();  // leftovers from an interrupted run
        try {
            build();
        } catch (...) {
            remove_namespaces();
            throw;
        }
    }
    ~TestNetwork() { remove_namespaces(); }
    TestNetwork(const TestNetwork&) = delete;
    TestNetwork& operator=(const TestNetwork&) = delete;

private:
    static void build() {
        for (const auto& ns : {kClient, kRouter, kServer}) {
            require(must({"ip", "netns", "add", ns}));
            require(must({"ip", "-n", ns, "link", "set", "lo", "up"}));
        }
        require(must({"ip", "-n", kRouter, "link", "add", "r-c", "mtu", "9000", "type", "veth",
                      "peer", "name", "c-r", "mtu", "9000", "netns", kClient}));
        require(must({"ip", "-n", kRouter, "link", "add", "r-s", "mtu", "1480", "type", "veth",
                      "peer", "name", "s-r", "mtu", "1480", "netns", kServer}));
        require(must({"ip", "-n", kClient, "addr", "add", "10.251.1.2/24", "dev", "c-r"}));
        require(must({"ip", "-n", kRouter, "addr", "add", "10.251.1.1/24", "dev", "r-c"}));
        require(must({"ip", "-n", kRouter, "addr", "add", "10.251.2.1/24", "dev", "r-s"}));
        require(must({"ip", "-n", kServer, "addr", "add", kServerIp + "/24", "dev", "s-r"}));
        require(must({"ip", "-n", kClient, "link", "set", "c-r", "up"}));
        require(must({"ip", "-n", kRouter, "link", "set", "r-c", "up"}));
        require(must({"ip", "-n", kRouter, "link", "set", "r-s", "up"}));
        require(must({"ip", "-n", kServer, "link", "set", "s-r", "up"}));
        require(must({"ip", "-n", kClient, "route", "add", "default", "via", "10.251.1.1"}));
        require(must({"ip", "-n", kServer, "route", "add", "default", "via", "10.251.2.1"}));
        require(must({"sysctl", "-qw", "net.ipv4.ip_forward=1"}, kRouter));
        // Unreachables are rate-limited per destination host (a burst of about two here, as
        // the route error path draws on the same tokens); the test sends more than that.
        require(must({"sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"}, kRouter));
        require(must({"ip", "-n", kRouter, "route", "add", "blackhole", "10.251.3.0/24"}));
        require(must({"ip", "-n", kRouter, "route", "add", "unreachable", "10.251.4.0/24"}));
    }
};

// A counter from the namespace's /proc/net/snmp "Tcp:" lines (names, then values).
long tcp_counter(const std::string& ns, const std::string& name) {
    std::istringstream snmp(require(must({"cat", "/proc/net/snmp"}, ns)));
    std::string names, values;
    while (std::getline(snmp, names))
        if (names.starts_with("Tcp:") && std::getline(snmp, values)) break;
    std::istringstream n(names), v(values);
    std::string key, value;
    while (n >> key && v >> value)
        if (key == name) return std::stol(value);
    throw std::runtime_error("no Tcp counter " + name + " in " + ns);
}

}  // namespace

TEST_CASE("traffic: addresses must be numeric; nothing is looked up") {
    auto by_name = ping(kClient, "localhost", 1, 56, false, 0ms, 100ms);
    REQUIRE_FALSE(by_name.has_value());
    CHECK_THAT(by_name.error().message, Catch::Contains("not a numeric IPv4 address"));
    auto get_by_name = http_get(kClient, "example.com", 80, "/", 100ms);
    REQUIRE_FALSE(get_by_name.has_value());
    CHECK_THAT(get_by_name.error().message, Catch::Contains("not a numeric IPv4 address"));
    CHECK_FALSE(HttpServer::start(kServer, "any", 8080).has_value());
    CHECK_FALSE(http_get(kClient, "10.251.2.2", 80, "no-slash", 100ms).has_value());
}

TEST_CASE("traffic: ping, path MTU and HTTP between test namespaces", "[live]") {
    if (geteuid() != 0) {
        WARN("skipped: needs root to create network namespaces and raw sockets");
        return;
    }
    TestNetwork net;

    auto p = require(ping(kClient, kServerIp, 3, 56, false, 200ms, 2s));
    CHECK(p.sent == 3);
    CHECK(p.received == 3);
    CHECK(p.frag_needed == 0);
    CHECK(p.error.empty());

    // Above the router's 1480 but below the client's 9000: the router has to say so.
    auto big_df = require(ping(kClient, kServerIp, 2, 2000, true, 100ms, 2s));
    CHECK(big_df.sent == 2);
    CHECK(big_df.received == 0);
    CHECK(big_df.frag_needed == 2);
    CHECK(big_df.reported_mtu == 1480);
    // The same size without DF is fragmented by the router and answered.
    auto big = require(ping(kClient, kServerIp, 1, 2000, false, 0ms, 2s));
    CHECK(big.received == 1);
    CHECK(big.frag_needed == 0);
    // Above the client's own MTU with DF, nothing leaves: the socket refuses to send.
    auto jumbo = require(ping(kClient, kServerIp, 1, 9000, true, 0ms, 500ms));
    CHECK(jumbo.sent == 0);
    CHECK(jumbo.error == "message too long");

    auto hole = require(ping(kClient, kBlackholed, 2, 56, false, 100ms, 300ms));
    CHECK(hole.sent == 2);
    CHECK(hole.received + hole.unreachable + hole.frag_needed == 0);
    auto unreach = require(ping(kClient, kUnreachable, 2, 56, false, 100ms, 1s));
    CHECK(unreach.received == 0);
    CHECK(unreach.unreachable == 2);

    {
        auto server = require(HttpServer::start(kServer, kServerIp, 8080));
        auto r = require(http_get(kClient, kServerIp, 8080, "/hello", 2s));
        CHECK(r.connected);
        CHECK(r.status == 200);
        CHECK(r.body_bytes == std::string("podtrace lab ptlt-tr-server\n").size());
        CHECK(r.error.empty());
        CHECK(server->requests() == 1);

        // Many connections, some at once; each one answered and closed.
        constexpr int kThreads = 4, kEach = 25;
        std::vector<HttpResult> results(kThreads * kEach);
        std::vector<std::thread> clients;
        for (int t = 0; t < kThreads; ++t)
            clients.emplace_back([&, t] {
                for (int i = 0; i < kEach; ++i)
                    results[t * kEach + i] =
                        http_get(kClient, kServerIp, 8080, "/", 2s).value_or(HttpResult{});
            });
        for (auto& c : clients) c.join();
        int ok = 0;
        for (const auto& res : results) ok += res.status == 200 && res.error.empty();
        CHECK(ok == kThreads * kEach);
        CHECK(server->requests() == 1 + kThreads * kEach);

        // Every exchange closed with FINs both ways: no resets, nothing left established
        // (the server closes once it has read the client's FIN, just after the client returns).
        auto until = std::chrono::steady_clock::now() + 2s;
        while (tcp_counter(kServer, "CurrEstab") != 0 && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(10ms);
        CHECK(tcp_counter(kServer, "CurrEstab") == 0);
        CHECK(tcp_counter(kServer, "OutRsts") == 0);
        CHECK(tcp_counter(kClient, "OutRsts") == 0);
        CHECK(tcp_counter(kServer, "EstabResets") == 0);
        CHECK(tcp_counter(kClient, "EstabResets") == 0);
    }

    auto refused = require(http_get(kClient, kServerIp, 8080, "/", 2s));  // the server is gone
    CHECK(!refused.connected);
    CHECK(refused.error == "connection refused");

    auto start = std::chrono::steady_clock::now();
    auto dropped = require(http_get(kClient, kBlackholed, 8080, "/", 700ms));
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(!dropped.connected);
    CHECK(dropped.error == "connection timed out");
    CHECK(took >= 700ms);
    CHECK(took < 1500ms);

    auto no_route = require(http_get(kClient, kUnreachable, 8080, "/", 2s));
    CHECK(!no_route.connected);
    CHECK(no_route.error == "no route to host");
}
