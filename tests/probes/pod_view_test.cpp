// Pod mode detection (probes/pod_view.hpp) and pod names from /proc (probes/pod_names.hpp),
// decided on what netlink and /proc would give; the [live] cases are in tests/lab.
#include <netinet/in.h>

#include <catch2/catch.hpp>

#include "probes/pod_names.hpp"
#include "probes/pod_view.hpp"
#include "trace/inventory.hpp"

using namespace podtrace::core;
using namespace podtrace::probes;

namespace {

std::vector<PodLinkFact> pod_links(std::vector<std::string> eth0_addrs) {
    return {{"lo", 1, 65536, {"127.0.0.1/8", "::1/128"}},
            {"eth0", 2, 8981, std::move(eth0_addrs)}};
}

const VethNamer calico = [](std::string_view ns, std::string_view pod) {
    return podtrace::trace::calico_veth_name(ns, pod);
};

}  // namespace

TEST_CASE("pod mode: eth0 with a /32 and a default via 169.254.1.1, no cali*") {
    const std::vector<DefaultRouteFact> via_calico{{AF_INET, "169.254.1.1", 2, false}};
    auto v = pod_view_from(pod_links({"172.16.158.1/32", "fe80::ecee:eeff:fe00:1/64"}), via_calico);
    REQUIRE(v);
    CHECK(v->interface == "eth0");
    CHECK(v->ifindex == 2);
    CHECK(v->mtu == 8981);
    CHECK(v->addresses == std::vector<std::string>{"172.16.158.1/32"});  // link-local left out
    CHECK(v->gateway == "169.254.1.1");

    SECTION("IPv6 only: a /128 via Calico's link-local gateway") {
        auto v6 = pod_view_from(pod_links({"fd00:10::5/128"}),
                                {{AF_INET6, "fe80::ecee:eeff:feee:eeee", 2, false}});
        REQUIRE(v6);
        CHECK(v6->gateway == "fe80::ecee:eeff:feee:eeee");
    }
    SECTION("a node: cali* devices exist") {
        auto links = pod_links({"172.16.158.1/32"});
        links.push_back({"calice0906292e2", 7, 1500, {}});
        CHECK_FALSE(pod_view_from(links, via_calico));
    }
    SECTION("a subnet address is not a pod's") {
        CHECK_FALSE(pod_view_from(pod_links({"192.168.10.101/24"}), via_calico));
    }
    SECTION("another gateway is not Calico's") {
        CHECK_FALSE(pod_view_from(pod_links({"172.16.158.1/32"}),
                                  {{AF_INET, "192.168.10.1", 2, false}}));
    }
    SECTION("no default route") { CHECK_FALSE(pod_view_from(pod_links({"172.16.158.1/32"}), {})); }
}

TEST_CASE("pod mode's note says what eth0 shows and what needs the node") {
    PodView v{"eth0", 2, 8981, {"172.16.158.1/32"}, "169.254.1.1", false, "pod1", ""};
    const std::string note = pod_view_note(v);
    CHECK_THAT(note, Catch::Contains("inside pod pod1's network namespace (eth0 172.16.158.1/32, "
                                     "default via 169.254.1.1)"));
    CHECK_THAT(note, Catch::Contains("this pod's own traffic"));
    CHECK_THAT(note, Catch::Contains("DNS"));
    CHECK_THAT(note, Catch::Contains("MTU of eth0 (8981)"));
    CHECK_THAT(note, Catch::Contains("the node's NIC"));
    CHECK_THAT(note, Catch::Contains("kubectl debug node/NODE -it --profile=sysadmin"));
    CHECK_THAT(note, Catch::Contains("kubectl podtrace trace"));
    v.pod_namespace = "default";
    CHECK_THAT(pod_view_note(v), Catch::Contains("inside pod default/pod1's"));
}

TEST_CASE("a veth's pod: hostname and namespace file must give Calico's name") {
    // The reference cluster's check vector (../shared/DESIGN.md).
    REQUIRE(calico("default", "pod1") == "calice0906292e2");
    const PeerProcess pause{100, "pod1", "UTS namespace", std::nullopt, false};
    const PeerProcess app{120, "pod1", "UTS namespace", "default", false};

    SECTION("the pause container has no namespace file; the app container has") {
        auto n = decide_veth_name("calice0906292e2", {pause, app}, calico);
        REQUIRE(n.name);
        CHECK(n.name->ns == "default");
        CHECK(n.name->pod == "pod1");
        CHECK_THAT(n.name->verified, Catch::Contains("pid 100"));
        CHECK_THAT(n.name->verified, Catch::Contains("serviceaccount file of pid 120"));
        CHECK(n.why_not.empty());
    }
    SECTION("another veth's name does not match") {
        auto n = decide_veth_name("calibd2348b4f67", {pause, app}, calico);
        CHECK_FALSE(n.name);
        CHECK(n.why_not ==
              "name mismatch: \"default.pod1\" gives calice0906292e2, not calibd2348b4f67");
    }
    SECTION("a hostname set by spec.hostname is not the pod's name: unnamed") {
        const PeerProcess custom{130, "web-0.svc", "UTS namespace", "default", false};
        auto n = decide_veth_name("calice0906292e2", {custom}, calico);
        CHECK_FALSE(n.name);
        CHECK_THAT(n.why_not, Catch::StartsWith("name mismatch"));
    }
    SECTION("no namespace file anywhere") {
        auto n = decide_veth_name("calice0906292e2", {pause}, calico);
        CHECK_FALSE(n.name);
        CHECK_THAT(n.why_not, Catch::StartsWith("no namespace file"));
        CHECK_THAT(n.why_not, Catch::Contains("pid 100"));
    }
    SECTION("no process in the peer namespace") {
        CHECK(decide_veth_name("calice0906292e2", {}, calico).why_not ==
              "no process in its peer network namespace");
    }
    SECTION("not permitted, as under --profile=netadmin") {
        const PeerProcess denied{100, "", "", std::nullopt, true};
        auto n = decide_veth_name("calice0906292e2", {denied}, calico);
        CHECK_FALSE(n.name);
        CHECK_THAT(n.why_not, Catch::Contains("CAP_SYS_PTRACE"));
        CHECK_THAT(n.why_not, Catch::Contains("--profile=sysadmin"));
    }
}

TEST_CASE("veths without a peer namespace are not pods'") {
    auto n = name_veths({{"calitest0", 5, 4, std::nullopt}}, calico);
    REQUIRE(n.size() == 1);
    CHECK_FALSE(n[0].name);
    CHECK_THAT(n[0].why_not, Catch::Contains("not a pod's veth"));
}
