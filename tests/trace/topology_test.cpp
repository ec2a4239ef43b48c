#include <catch2/catch.hpp>

#include "crafted.hpp"
#include "data.hpp"
#include "trace/topology.hpp"

using namespace podtrace;
using namespace podtrace::trace;
using namespace podtrace::test;

namespace {

NodeFacts w1_facts() {
    auto f = parse_node_facts(slurp("facts-k8s-w1.json"));
    REQUIRE(f);
    return *f;
}

Inventory reference() {
    Inventory inv;
    REQUIRE(inv.add_pods(slurp("pods.json")));
    REQUIRE(inv.add_services(slurp("svc.json")));
    REQUIRE(inv.add_nodes(slurp("nodes.json")));
    return inv;
}

// A SYN from pod1 towards pod3, as pod1's veth sees it (inbound: from the pod).
Sighting from_pod1(Names& n, std::int64_t ts) {
    auto f = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.184.4", 64) /
             tcp(40000, 8080, 5);
    return sight(n, "k8s-w1", "calice0906292e2", ts, f);
}

// The same SYN in IPIP, k8s-w1 -> k8s-w2, on an ens5.
Sighting ipip(Names& n, const char* node, std::int64_t ts, core::Direction dir) {
    auto f = Tins::EthernetII(kPeerMac, kNicMac) /
             ip("192.168.10.101", "192.168.10.102", 64, 0x9001) /
             (ip("172.16.158.1", "172.16.184.4", 63) / tcp(40000, 8080, 5));
    Sighting s = sight(n, node, "ens5", ts, f);
    s.direction = dir;  // the capture's direction flag; crafted frames carry none
    return s;
}

}  // namespace

TEST_CASE("node facts from podtrace discover --json", "[topology]") {
    const NodeFacts f = w1_facts();
    REQUIRE(f.nic);
    CHECK(f.nic->name == "ens5");
    CHECK(f.nic->mtu == 9001);
    REQUIRE(f.nic->addresses.size() == 2);
    CHECK(f.nic->addresses[0].str() == "192.168.10.101/24");  // the host part is kept
    CHECK(f.nic->addresses[1].str() == "fe80::4f:8aff:fe11:c365/64");

    REQUIRE(f.pods.size() == 2);
    CHECK(f.pods[0].first == "calibd2348b4f67");
    CHECK(f.pods[0].second == std::vector<IpAddr>{ip("172.16.158.2")});
    CHECK(f.pods[1].first == "calice0906292e2");
    CHECK(f.pods[1].second == std::vector<IpAddr>{ip("172.16.158.1")});

    REQUIRE(f.tunnels.size() == 1);
    CHECK(f.tunnels[0].name == "tunl0");
    CHECK(f.tunnels[0].mtu == 8981);
    CHECK(f.tunnels[0].addresses[0].str() == "172.16.158.0/32");
    CHECK(f.tunnel_types == std::vector<std::string>{"ipip"});
    CHECK_FALSE(f.has_wireguard());
    CHECK(f.mtu("ens5") == 9001);
    CHECK(f.mtu("tunl0") == 8981);
    CHECK(f.mtu("vxlan.calico") == 0);

    REQUIRE(f.routes.size() == 4);
    CHECK(f.routes[0].text == "blackhole 172.16.158.0/24 proto bird");
    CHECK(f.routes[0].mode == "blackhole");
    CHECK(f.routes[0].dev.empty());
    CHECK(f.routes[1].text == "172.16.34.0/24 via 192.168.20.100 dev tunl0 proto bird onlink");
    CHECK(f.routes[2].text == "172.16.116.0/24 via 192.168.10.10 dev tunl0 proto bird onlink");
    CHECK(f.routes[3].text == "172.16.184.0/24 via 192.168.10.102 dev tunl0 proto bird onlink");
    CHECK(f.routes[3].dev == "tunl0");
    CHECK(f.routes[3].mode == "ipip");
    CHECK(f.routes[3].dst.str() == "172.16.184.0/24");

    CHECK(f.route_to(ip("172.16.184.4")) == &f.routes[3]);
    CHECK(f.route_to(ip("172.16.158.77")) == &f.routes[0]);
    CHECK(f.route_to(ip("8.8.8.8")) == nullptr);

    CHECK(f.nat_outgoing);
    CHECK(f.nat_outgoing_known);
}

TEST_CASE("facts of a host without Calico, as discover printed them", "[topology]") {
    auto f = parse_node_facts(slurp("facts-host.json"));
    REQUIRE(f);
    REQUIRE(f->nic);
    CHECK(f->nic->name == "eth0");
    CHECK(f->nic->mtu == 1400);
    REQUIRE(f->nic->addresses.size() == 3);
    CHECK(f->nic->addresses[0].str() == "192.0.2.2/24");
    CHECK(f->pods.empty());
    CHECK(f->tunnels.empty());
    CHECK(f->routes.empty());
    CHECK_FALSE(f->nat_outgoing);
    CHECK(f->nat_outgoing_known);  // the ruleset was read and has no natOutgoing chain

    Names n;
    Topology t(n);
    t.set_facts(n.intern("host"), *f);
    CHECK(t.node_of(ip("fd00::2")) == n.find("host"));
    CHECK(t.in_pool(ip("192.0.2.9")) == std::nullopt);  // no blocks: nothing known of pools
}

TEST_CASE("facts: routes without a gateway, wireguard, natOutgoing states", "[topology]") {
    auto f = parse_node_facts(R"({"nic":null,"pods":[],"tunnels":[
        {"name":"wireguard.cali","mtu":8941,"addresses":["172.16.158.3/32"],"type":"wireguard"}],
        "remote_routes":[{"dst":"172.16.184.0/24","via":null,"dev":"wireguard.cali",
                          "onlink":false,"protocol":"static","mode":"wireguard"}],
        "nat_outgoing":{"hooked":false,"rules":[{"family":"ip"}]},"nat_outgoing_reason":null})");
    REQUIRE(f);
    CHECK_FALSE(f->nic);
    CHECK(f->has_wireguard());
    CHECK(f->routes[0].text == "172.16.184.0/24 dev wireguard.cali proto static");
    CHECK_FALSE(f->nat_outgoing);  // a rule no postrouting chain reaches
    CHECK(f->nat_outgoing_known);

    f = parse_node_facts(
        R"({"nat_outgoing":null,"nat_outgoing_reason":"no chain named cali-nat-outgoing",
        "nat_ruleset_read":true})");
    REQUIRE(f);
    CHECK_FALSE(f->nat_outgoing);
    CHECK(f->nat_outgoing_known);
    f = parse_node_facts(
        R"({"nat_outgoing":null,"nat_outgoing_reason":"nft: permission denied","nat_ruleset_read":false})");
    REQUIRE(f);
    CHECK_FALSE(f->nat_outgoing_known);
    f = parse_node_facts(R"({"nat_outgoing":null,"nat_outgoing_reason":"nft: permission denied"})");
    REQUIRE(f);
    CHECK_FALSE(f->nat_outgoing_known);
    f = parse_node_facts(R"({"nat_outgoing":{"hooked":true,"rules":[]}})");
    REQUIRE(f);
    CHECK_FALSE(f->nat_outgoing);
    CHECK(f->nat_outgoing_known);
}

TEST_CASE("facts parse errors name the key", "[topology]") {
    auto f = parse_node_facts("{\"nic\": ");
    REQUIRE_FALSE(f);
    CHECK(f.error().message.starts_with("not JSON: [json.exception.parse_error.101]"));
    f = parse_node_facts("[]");
    REQUIRE_FALSE(f);
    CHECK(f.error().message == "document: expected an object, got array");
    f = parse_node_facts(R"({"nic":{"name":"ens5","mtu":"9001"}})");
    REQUIRE_FALSE(f);
    CHECK(f.error().message == "nic.mtu: expected a number >= 0, got string");
    f = parse_node_facts(R"({"pods":[{"name":"cali1","ips":["172.16.158.1"]},
                                      {"name":"cali2","ips":["172.16.158"]}]})");
    REQUIRE_FALSE(f);
    CHECK(f.error().message == "pods[1].ips[0]: \"172.16.158\" is not an IP address");
    f = parse_node_facts(R"({"tunnels":{"name":"tunl0"}})");
    REQUIRE_FALSE(f);
    CHECK(f.error().message == "tunnels: expected an array, got object");
    f = parse_node_facts(R"({"blocks":[{"protocol":"bird"}]})");
    REQUIRE_FALSE(f);
    CHECK(f.error().message == "blocks[0].cidr: missing");
    f = parse_node_facts(
        R"({"remote_routes":[{"dst":"172.16.184.0/24","dev":"tunl0","onlink":1}]})");
    REQUIRE_FALSE(f);
    CHECK(f.error().message == "remote_routes[0].onlink: expected true or false, got number");
    f = parse_node_facts(R"({"nic":{"name":"ens5","addresses":["192.168.10.101/40"]}})");
    REQUIRE_FALSE(f);
    CHECK(f.error().message ==
          "nic.addresses[0]: \"192.168.10.101/40\" is not an address or prefix");
    f = parse_node_facts(R"({"nat_outgoing":{"hooked":"yes","rules":[{}]}})");
    REQUIRE_FALSE(f);
    CHECK(f.error().message == "nat_outgoing.hooked: expected true or false, got string");
}

TEST_CASE("coverage: what each point was capturing, and when", "[topology]") {
    Names n;
    Topology t(n);
    const PointId veth = make_point(n, "k8s-w1", "calice0906292e2");
    const PointId ens5 = make_point(n, "k8s-w1", "ens5");
    const PointId w2 = make_point(n, "k8s-w2", "ens5");
    t.cover(ens5, 1'000, 9'000);
    t.saw(from_pod1(n, 2'000));
    t.saw(from_pod1(n, 5'000));
    t.saw(ipip(n, "k8s-w1", 12'000, core::Direction::outbound));

    REQUIRE(t.points().size() == 2);
    CHECK(t.points()[0].point == ens5);
    CHECK(t.points()[0].first_ns == 1'000);
    CHECK(t.points()[0].last_ns == 12'000);
    CHECK(t.points()[0].sightings == 1);
    CHECK(t.points()[1].point == veth);
    CHECK(t.points()[1].first_ns == 2'000);
    CHECK(t.points()[1].last_ns == 5'000);
    CHECK(t.points()[1].sightings == 2);

    CHECK(t.captured(veth, 2'000));
    CHECK(t.captured(veth, 5'000));
    CHECK_FALSE(t.captured(veth, 5'001));
    CHECK_FALSE(t.captured(veth, 1'999));
    CHECK(t.captured(ens5, 1'000));
    CHECK_FALSE(t.captured(w2, 3'000));
    CHECK(t.captured_on(veth.node, 3'000) == std::vector<PointId>{ens5, veth});
    CHECK(t.captured_on(veth.node, 10'000) == std::vector<PointId>{ens5});
    CHECK(t.captured_on(w2.node, 3'000).empty());
    CHECK(t.nodes() == std::vector<std::uint16_t>{veth.node});
}

TEST_CASE("learning pod veths and node addresses from packets", "[topology]") {
    Names n;
    Topology t(n);
    CHECK(t.in_pool(ip("172.16.158.1")) == std::nullopt);  // nothing says where pools are
    t.saw(from_pod1(n, 1'000));
    auto to_pod = Tins::EthernetII(kPodMac, kCali) / ip("172.16.184.4", "172.16.158.2", 63) /
                  tcp(8080, 40001, 7, Tins::TCP::SYN | Tins::TCP::ACK);
    t.saw(sight(n, "k8s-w1", "calibd2348b4f67", 1'500, to_pod));
    t.saw(ipip(n, "k8s-w1", 2'000, core::Direction::outbound));
    t.saw(ipip(n, "k8s-w2", 2'500, core::Direction::inbound));

    const auto w1 = n.find("k8s-w1"), w2 = n.find("k8s-w2");
    REQUIRE(w1);
    REQUIRE(w2);
    const auto p1 = t.pod_veth(ip("172.16.158.1"));
    REQUIRE(p1);
    CHECK(*p1 == make_point(n, "k8s-w1", "calice0906292e2"));
    CHECK(p1->kind == PointKind::pod_veth);
    CHECK(*t.pod_veth(ip("172.16.158.2")) == make_point(n, "k8s-w1", "calibd2348b4f67"));
    CHECK_FALSE(t.pod_veth(ip("172.16.184.4")));  // only the other end of pod1's packet

    CHECK(t.node_of(ip("172.16.158.1")) == w1);
    CHECK(t.node_of(ip("192.168.10.101")) == w1);
    CHECK(t.node_of(ip("192.168.10.102")) == w2);
    CHECK_FALSE(t.node_of(ip("172.16.184.4")));

    CHECK(t.is_pod(ip("172.16.158.2")));
    CHECK_FALSE(t.is_pod(ip("192.168.10.101")));
    CHECK_FALSE(t.is_pod(ip("172.16.184.4")));
    CHECK(t.name_of(ip("172.16.158.1")) == "pod behind calice0906292e2 on k8s-w1");
    CHECK(t.name_of(ip("192.168.10.102")) == "k8s-w2 (node)");
    CHECK(t.name_of(ip("8.8.8.8")).empty());
    CHECK(t.in_pool(ip("172.16.158.1")) == std::nullopt);
}

TEST_CASE("facts tell pod veths, node addresses and pools", "[topology]") {
    Names n;
    Topology t(n);
    const auto w1 = n.intern("k8s-w1");
    t.set_facts(w1, w1_facts());
    REQUIRE(t.facts(w1));
    CHECK(t.facts(w1)->nic->name == "ens5");
    CHECK(t.facts(w1 + 1) == nullptr);

    CHECK(*t.pod_veth(ip("172.16.158.2")) == make_point(n, "k8s-w1", "calibd2348b4f67"));
    CHECK(t.node_of(ip("172.16.158.2")) == w1);
    CHECK(t.node_of(ip("192.168.10.101")) == w1);
    CHECK(t.node_of(ip("172.16.158.0")) == w1);    // tunl0
    CHECK(t.node_of(ip("172.16.158.200")) == w1);  // own block, no veth known
    CHECK_FALSE(t.node_of(ip("172.16.184.4")));
    CHECK(t.is_pod(ip("172.16.158.1")));
    CHECK(t.is_pod(ip("172.16.184.4")));  // a remote block
    CHECK_FALSE(t.is_pod(ip("172.16.158.0")));
    CHECK_FALSE(t.is_pod(ip("8.8.8.8")));
    CHECK(t.in_pool(ip("172.16.158.9")) == true);
    CHECK(t.in_pool(ip("172.16.34.9")) == true);
    CHECK(t.in_pool(ip("172.16.35.9")) == false);
    CHECK(t.in_pool(ip("10.200.1.10")) == false);
    CHECK(t.name_of(ip("172.16.158.2")) == "pod behind calibd2348b4f67 on k8s-w1");
    CHECK(t.name_of(ip("172.16.158.0")) == "k8s-w1 (node)");
}

TEST_CASE("direct routes count as blocks only with the blocks' size", "[topology]") {
    Names n;
    Topology t(n);
    auto f = parse_node_facts(R"({"blocks":[{"cidr":"172.16.158.0/26","protocol":"bird"}],
        "remote_routes":[
          {"dst":"172.16.184.0/26","via":"192.168.10.102","dev":"ens5","protocol":"bird","mode":"direct"},
          {"dst":"10.200.1.0/24","via":"192.168.10.102","dev":"ens5","protocol":"bird","mode":"direct"}]})");
    REQUIRE(f);
    t.set_facts(n.intern("k8s-w1"), *f);
    CHECK(t.in_pool(ip("172.16.184.4")) == true);
    CHECK(t.in_pool(ip("10.200.1.10")) == false);
}

TEST_CASE("the inventory names addresses and finds veths of captured nodes", "[topology]") {
    Names n;
    Topology t(n);
    const Inventory inv = reference();
    t.set_inventory(&inv);
    CHECK(t.inventory() == &inv);
    // No point of k8s-w1 yet: a veth there would be invented.
    CHECK_FALSE(t.pod_veth(ip("172.16.158.1")));
    t.cover(make_point(n, "k8s-w1", "tunl0"), 0, 1'000);
    const auto p1 = t.pod_veth(ip("172.16.158.1"));
    REQUIRE(p1);
    CHECK(*p1 == make_point(n, "k8s-w1", "calice0906292e2"));
    CHECK(p1->kind == PointKind::pod_veth);
    CHECK_FALSE(t.pod_veth(ip("172.16.184.4")));    // k8s-w2 was not captured
    CHECK_FALSE(t.pod_veth(ip("192.168.10.101")));  // kube-proxy: host network

    const auto w1 = n.find("k8s-w1");
    CHECK(t.node_of(ip("172.16.158.2")) == w1);
    CHECK(t.node_of(ip("192.168.10.101")) == w1);
    CHECK_FALSE(t.node_of(ip("172.16.184.4")));  // k8s-w2 is no name here
    n.intern("k8s-w2");
    CHECK(t.node_of(ip("172.16.184.4")) == n.find("k8s-w2"));

    CHECK(t.is_pod(ip("172.16.184.4")));
    CHECK_FALSE(t.is_pod(ip("192.168.10.101")));
    CHECK_FALSE(t.is_pod(ip("10.200.1.10")));
    CHECK(t.name_of(ip("172.16.184.4")) == "default/pod3");
    CHECK(t.name_of(ip("10.200.1.53")) == "kube-system/kube-dns (service)");
    CHECK(t.name_of(ip("192.168.10.101")) == "k8s-w1 (node)");
    // Pools from the nodes' podCIDRs, and the pods' own addresses (Calico's blocks need not lie
    // in the podCIDRs).
    CHECK(t.in_pool(ip("172.16.2.7")) == true);
    CHECK(t.in_pool(ip("172.16.158.1")) == true);
    CHECK(t.in_pool(ip("192.168.10.101")) == false);
    CHECK(t.in_pool(ip("10.200.1.10")) == false);
}
