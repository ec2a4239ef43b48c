#include <catch2/catch.hpp>

#include "data.hpp"
#include "trace/inventory.hpp"

using namespace podtrace::trace;
using namespace podtrace::test;

namespace {

std::vector<std::string> strs(const std::vector<IpAddr>& v) {
    std::vector<std::string> out;
    for (const auto& a : v) out.push_back(a.str());
    return out;
}

Inventory reference() {
    Inventory inv;
    REQUIRE(inv.add_pods(slurp("pods.json")));
    REQUIRE(inv.add_services(slurp("svc.json")));
    REQUIRE(inv.add_nodes(slurp("nodes.json")));
    return inv;
}

}  // namespace

TEST_CASE("calico veth names match a real cluster", "[inventory]") {
    CHECK(calico_veth_name("default", "pod1") == "calice0906292e2");
    CHECK(calico_veth_name("default", "pod2") == "calibd2348b4f67");
    CHECK(calico_veth_name("kube-system", "coredns-55cb58b774-5nmd9") == "califdb0b8d1bd6");
}

TEST_CASE("pods from kubectl get pods -A -o json", "[inventory]") {
    const Inventory inv = reference();
    REQUIRE(inv.pods().size() == 6);
    const Pod& p1 = inv.pods()[0];
    CHECK(p1.ns == "default");
    CHECK(p1.name == "pod1");
    CHECK(p1.node == "k8s-w1");
    CHECK(strs(p1.ips) == std::vector<std::string>{"172.16.158.1"});
    CHECK_FALSE(p1.host_network);
    CHECK(p1.veth == "calice0906292e2");
    CHECK(inv.pods()[3].veth == "califdb0b8d1bd6");
    CHECK(inv.pods()[3].node == "k8s-m");

    const Pod* proxy = inv.pod("kube-system", "kube-proxy-x7kq2");
    REQUIRE(proxy);
    CHECK(proxy->host_network);
    CHECK(proxy->veth.empty());
    CHECK(strs(proxy->ips) == std::vector<std::string>{"192.168.10.101"});

    const Pod* pending = inv.pod("default", "pod4-pending");
    REQUIRE(pending);
    CHECK(pending->ips.empty());
    CHECK(pending->node.empty());

    CHECK(inv.pod_by_ip(ip("172.16.184.4"))->name == "pod3");
    CHECK(inv.pod_by_ip(ip("172.16.184.5")) == nullptr);
    CHECK(inv.pod_by_veth("k8s-w1", "calibd2348b4f67")->name == "pod2");
    CHECK(inv.pod_by_veth("k8s-w2", "calibd2348b4f67") == nullptr);
    CHECK(inv.pod_by_veth("k8s-w1", "") == nullptr);  // host-networked pods have no veth
    CHECK(inv.pod("default", "pod9") == nullptr);
}

TEST_CASE("a pod with its own address wins over a host-networked one", "[inventory]") {
    Inventory inv;
    REQUIRE(inv.add_pods(R"({"kind":"Pod","metadata":{"namespace":"kube-system","name":"proxy"},
        "spec":{"hostNetwork":true,"nodeName":"k8s-w1"},"status":{"podIP":"192.168.10.101"}})"));
    CHECK(inv.pod_by_ip(ip("192.168.10.101"))->name == "proxy");
    // The address is the node's: named after the node, not after one of its host pods.
    CHECK(inv.name_of(ip("192.168.10.101")) == "k8s-w1 (node)");
    REQUIRE(inv.add_pods(R"({"kind":"PodList","items":[{"metadata":{"namespace":"x","name":"odd"},
        "spec":{"nodeName":"k8s-w1"},"status":{"podIPs":[{"ip":"192.168.10.101"}]}}]})"));
    CHECK(inv.pods().size() == 2);
    CHECK(inv.pod_by_ip(ip("192.168.10.101"))->name == "odd");
    CHECK(inv.pods()[1].veth == calico_veth_name("x", "odd"));
}

TEST_CASE("services: cluster IPs and ports, headless without an IP", "[inventory]") {
    const Inventory inv = reference();
    REQUIRE(inv.services().size() == 4);
    const Service* web = inv.service("default", "web");
    REQUIRE(web);
    CHECK(strs(web->cluster_ips) == std::vector<std::string>{"10.200.1.10"});
    REQUIRE(web->ports.size() == 1);
    CHECK(web->ports[0].name == "http");
    CHECK(web->ports[0].protocol == "TCP");
    CHECK(web->ports[0].port == 80);
    CHECK(web->ports[0].target_port == 8080);

    const Service* dns = inv.service_by_ip(ip("10.200.1.53"));
    REQUIRE(dns);
    CHECK(dns->name == "kube-dns");
    REQUIRE(dns->ports.size() == 3);
    CHECK(dns->ports[0].protocol == "UDP");
    CHECK(dns->ports[0].port == 53);
    CHECK(dns->ports[1].protocol == "TCP");
    CHECK(dns->ports[1].target_port == 53);

    const Service* headless = inv.service("default", "web-headless");
    REQUIRE(headless);
    CHECK(headless->cluster_ips.empty());
    REQUIRE(headless->ports.size() == 1);
    CHECK(headless->ports[0].target_port == 0);  // named port "http"
    CHECK(inv.service("default", "nope") == nullptr);
}

TEST_CASE("nodes: addresses, Calico annotations, pod CIDRs", "[inventory]") {
    const Inventory inv = reference();
    REQUIRE(inv.nodes().size() == 4);
    const K8sNode* w1 = inv.node("k8s-w1");
    REQUIRE(w1);
    CHECK(strs(w1->addresses) == std::vector<std::string>{"192.168.10.101"});
    CHECK(strs(w1->calico_addresses) == std::vector<std::string>{"192.168.10.101", "172.16.158.0"});
    REQUIRE(w1->pod_cidrs.size() == 1);
    CHECK(w1->pod_cidrs[0].str() == "172.16.1.0/24");
    CHECK(inv.node_by_ip(ip("172.16.34.0"))->name == "k8s-w0");
    CHECK(inv.node_by_ip(ip("192.168.20.100"))->name == "k8s-w0");
    CHECK(inv.node_by_ip(ip("192.168.20.101")) == nullptr);

    Inventory one;
    REQUIRE(one.add_nodes(R"({"kind":"Node","metadata":{"name":"n","annotations":{
        "projectcalico.org/IPv4VXLANTunnelAddr":"172.16.9.192",
        "projectcalico.org/IPv4WireguardInterfaceAddr":"172.16.9.193"}},
        "spec":{"podCIDR":"10.244.3.0/24"},
        "status":{"addresses":[{"type":"ExternalIP","address":"203.0.113.7"},
                               {"type":"Hostname","address":"n"}]}})"));
    CHECK(strs(one.nodes()[0].addresses) == std::vector<std::string>{"203.0.113.7"});
    CHECK(strs(one.nodes()[0].calico_addresses) ==
          std::vector<std::string>{"172.16.9.192", "172.16.9.193"});
    CHECK(one.nodes()[0].pod_cidrs[0].str() == "10.244.3.0/24");
}

TEST_CASE("name_of: pods, services, nodes", "[inventory]") {
    const Inventory inv = reference();
    CHECK(inv.name_of(ip("172.16.158.1")) == "default/pod1");
    CHECK(inv.name_of(ip("172.16.116.2")) == "kube-system/coredns-55cb58b774-5nmd9");
    CHECK(inv.name_of(ip("10.200.1.10")) == "default/web (service)");
    // kube-proxy shares k8s-w1's address; the node is the better name.
    CHECK(inv.name_of(ip("192.168.10.101")) == "k8s-w1 (node)");
    CHECK(inv.name_of(ip("172.16.184.0")) == "k8s-w2 (node)");
    CHECK(inv.name_of(ip("8.8.8.8")).empty());
    CHECK(Inventory().empty());
    CHECK_FALSE(inv.empty());
}

TEST_CASE("inventory errors name the culprit", "[inventory]") {
    Inventory inv;
    auto e = inv.add_pods("{\"kind\": ");
    REQUIRE_FALSE(e);
    CHECK(e.error().message.starts_with("not JSON: [json.exception.parse_error.101] parse error"));

    e = inv.add_pods(slurp("svc.json"));
    REQUIRE_FALSE(e);
    CHECK(e.error().message ==
          "items[0]: expected pods (kind Pod or List of Pod), got kind Service");
    e = inv.add_pods(R"({"kind":"Service","metadata":{"name":"web"}})");
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "expected pods (kind Pod or List of Pod), got kind Service");
    e = inv.add_services(slurp("pods.json"));
    REQUIRE_FALSE(e);
    CHECK(e.error().message ==
          "items[0]: expected services (kind Service or List of Service), got kind Pod");
    e = inv.add_nodes("[1, 2]");
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "expected nodes (kind Node or List of Node), got a JSON array");

    e = inv.add_pods(R"({"kind":"List","items":[
        {"metadata":{"name":"a"}}, {"metadata":{"name":"b"}}, {"metadata":{"name":"c"}},
        {"metadata":{"name":"d"},"status":{"podIP":"x"}}]})");
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "items[3].status.podIP: \"x\" is not an IP address");
    CHECK(inv.pods().empty());  // a bad document adds nothing

    e = inv.add_pods(R"({"kind":"List","items":[{"metadata":{"namespace":"a"}}]})");
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "items[0].metadata.name: missing");
    e = inv.add_pods(R"({"kind":"Pod","metadata":{"name":"a"},"spec":{"hostNetwork":"yes"}})");
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "Pod.spec.hostNetwork: expected true or false, got string");
    e = inv.add_services(R"({"kind":"ServiceList","items":[{"metadata":{"name":"s"},
        "spec":{"clusterIP":"10.0.0.1","ports":[{"port":70000}]}}]})");
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "items[0].spec.ports[0].port: 70000 is not a port number");
    e = inv.add_nodes(
        R"({"kind":"Node","metadata":{"name":"n"},"spec":{"podCIDR":"10.0.0.0/33"}})");
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "Node.spec.podCIDR: \"10.0.0.0/33\" is not a CIDR");
    CHECK(inv.empty());
}
