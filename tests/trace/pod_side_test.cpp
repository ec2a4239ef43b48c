// Node facts from pod mode (pod_view) and pod names discover found in /proc: how trace/ reads
// and uses them.
#include <catch2/catch.hpp>

#include "crafted.hpp"
#include "data.hpp"
#include "trace/topology.hpp"

using namespace podtrace;
using namespace podtrace::trace;
using namespace podtrace::test;

namespace {

const char* kPodFacts = R"({"pod_view":{"interface":"eth0","ifindex":2,"mtu":8981,
  "addresses":["172.16.158.1/32"],"gateway":"169.254.1.1","onlink":false,"hostname":"pod1",
  "namespace":null},"nic":null,"pods":[],"tunnels":[],"blocks":[],"remote_routes":[],
  "nat_outgoing":null,"nat_outgoing_reason":"inside a pod's network namespace","nat_ruleset_read":false})";

const char* kNodeFacts = R"({"pod_view":null,
  "nic":{"name":"ens5","mtu":9001,"addresses":["192.168.10.101/24"]},
  "pods":[{"name":"calice0906292e2","mtu":8981,"addresses":[],"ips":["172.16.158.1"],
           "pod":{"namespace":"default","name":"pod1","source":"proc","verified":"..."}},
          {"name":"calibd2348b4f67","mtu":8981,"addresses":[],"ips":["172.16.158.2"],
           "pod":null,"pod_unnamed":"no namespace file"}],
  "tunnels":[],"blocks":[{"cidr":"172.16.158.0/24","protocol":"bird"}],"remote_routes":[]})";

}  // namespace

TEST_CASE("facts from pod mode: eth0 is the pod's side, not a NIC", "[topology]") {
    auto f = parse_node_facts(kPodFacts);
    REQUIRE(f);
    REQUIRE(f->pod_side);
    CHECK(f->pod_side->name == "eth0");
    CHECK(f->pod_side->mtu == 8981);
    CHECK_FALSE(f->nic);
    CHECK_FALSE(f->nat_outgoing_known);

    Names n;
    Topology t(n);
    CHECK(make_point(n, "pod1", "eth0").kind == PointKind::nic);  // before the facts: by name
    t.set_facts(n.intern("pod1"), std::move(*f));
    const PointId eth0 = make_point(n, "pod1", "eth0");
    CHECK(eth0.kind == PointKind::pod_side);
    CHECK(std::string(point_kind_name(eth0.kind)) == "pod-side");
    CHECK(make_point(n, "k8s-w1", "eth0").kind == PointKind::nic);  // another node's eth0
    CHECK_FALSE(t.node_of(ip("172.16.158.1")));  // the pod's address is no node's own

    // Without a direction flag, the MACs say it: to ee:ee:.. leaves the pod.
    auto out = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "203.0.113.10", 64) /
               tcp(40000, 80, 5);
    CHECK(sight(n, "pod1", "eth0", 1, out).direction == core::Direction::outbound);
    auto in = Tins::EthernetII(kPodMac, kCali) / ip("203.0.113.10", "172.16.158.1", 60) /
              tcp(80, 40000, 9, Tins::TCP::SYN | Tins::TCP::ACK);
    CHECK(sight(n, "pod1", "eth0", 2, in).direction == core::Direction::inbound);
}

TEST_CASE("pod names from the node's facts, unless --pods says otherwise", "[topology]") {
    auto f = parse_node_facts(kNodeFacts);
    REQUIRE(f);
    REQUIRE(f->pod_names.size() == 1);
    CHECK(f->pod_names[0].veth == "calice0906292e2");
    CHECK(f->pod_names[0].ns == "default");
    CHECK(f->pod_names[0].name == "pod1");

    Names n;
    Topology t(n);
    t.set_facts(n.intern("k8s-w1"), *f);
    CHECK(t.name_of(ip("172.16.158.1")) == "default/pod1");
    CHECK(t.name_of(ip("172.16.158.2")) == "pod behind calibd2348b4f67 on k8s-w1");  // unnamed
    CHECK(t.pod_at(make_point(n, "k8s-w1", "calice0906292e2")) == "default/pod1");
    CHECK(t.pod_at(make_point(n, "k8s-w1", "calibd2348b4f67")).empty());
    // Learned from packets: the veth's facts name still applies.
    auto from_pod = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.158.2", 64) /
                    tcp(40000, 8080, 5);
    t.saw(sight(n, "k8s-w1", "calice0906292e2", 1, from_pod));
    CHECK(t.name_of(ip("172.16.158.1")) == "default/pod1");

    // An explicit --pods wins.
    Inventory inv;
    REQUIRE(inv.add_pods(R"({"kind":"List","items":[{"metadata":{"namespace":"prod","name":"api"},
        "spec":{"nodeName":"k8s-w1"},"status":{"podIP":"172.16.158.1"}}]})"));
    t.set_inventory(&inv);
    CHECK(t.name_of(ip("172.16.158.1")) == "prod/api");

    auto bad = parse_node_facts(R"({"pods":[{"name":"cali1","pod":{"namespace":"default"}}]})");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "pods[0].pod.name: missing");
}
