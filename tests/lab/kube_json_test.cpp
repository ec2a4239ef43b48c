#include "lab/kube_json.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "helpers.hpp"
#include "lab/topology.hpp"
#include "tests/temp_dir.hpp"
#include "trace/inventory.hpp"

using namespace podtrace::lab;
using podtrace::test::require;
using podtrace::test::slurp;
using podtrace::test::TempDir;
using podtrace::trace::Cidr;
using podtrace::trace::Inventory;
using podtrace::trace::IpAddr;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

IpAddr ip(std::string_view text) {
    auto a = IpAddr::parse(text);
    REQUIRE(a);
    return *a;
}

// The documents as `podtrace report` reads them.
Inventory inventory(Mode m, const std::map<std::string, std::string>& wg = {}) {
    Inventory inv;
    auto p = inv.add_pods(pods_json());
    INFO((p ? "" : p.error().message));
    REQUIRE(p);
    auto s = inv.add_services(services_json());
    INFO((s ? "" : s.error().message));
    REQUIRE(s);
    auto n = inv.add_nodes(nodes_json(m, wg));
    INFO((n ? "" : n.error().message));
    REQUIRE(n);
    return inv;
}

std::set<std::string> entries(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

}  // namespace

TEST_CASE("kube json: the inventory names every lab pod, service and node in every mode") {
    for (Mode m : kModes) {
        CAPTURE(mode_name(m));
        const Inventory inv = inventory(m);
        for (const auto& p : kPods) {
            CAPTURE(p.name);
            const auto* got = inv.pod_by_ip(ip(p.ip));
            REQUIRE(got);
            CHECK(got->name == p.name);
            CHECK(got->ns == p.ns);
            CHECK(got->node == p.node);
            CHECK(!got->host_network);
            CHECK(inv.name_of(ip(p.ip)) == std::string(p.ns) + "/" + std::string(p.name));
            CHECK(inv.pod_by_veth(p.node, got->veth) == got);
        }
        CHECK(inv.pods().size() == std::size(kPods) + std::size(kNodes));

        const auto* web = inv.service_by_ip(ip("10.200.1.10"));
        REQUIRE(web);
        CHECK(web->ns == "default");
        CHECK(web->name == "web");
        REQUIRE(web->ports.size() == 1);
        CHECK(web->ports[0].name == "http");
        CHECK(web->ports[0].protocol == "TCP");
        CHECK(web->ports[0].port == 80);
        CHECK(web->ports[0].target_port == 8080);
        CHECK(inv.name_of(ip("10.200.1.10")) == "default/web (service)");
        const auto* api = inv.service_by_ip(ip("10.200.1.1"));
        REQUIRE(api);
        CHECK(api->name == "kubernetes");
        REQUIRE(api->ports.size() == 1);
        CHECK(api->ports[0].port == 443);

        for (const auto& n : kNodes) {
            CAPTURE(n.name);
            const auto* got = inv.node_by_ip(ip(n.ip));
            REQUIRE(got);
            CHECK(got->name == n.name);
            // The kube-proxy pod shares the node's address; the node is the name shown.
            CHECK(inv.name_of(ip(n.ip)) == std::string(n.name) + " (node)");
            REQUIRE(got->pod_cidrs.size() == 1);
            CHECK(got->pod_cidrs[0] == *Cidr::parse(n.block));
            // Tunnel addresses name the node only where the mode has a tunnel device.
            const auto* by_tunnel = inv.node_by_ip(ip(n.tunnel_ip));
            if (m == Mode::direct) {
                CHECK(by_tunnel == nullptr);
            } else {
                REQUIRE(by_tunnel);
                CHECK(by_tunnel->name == n.name);
            }
        }
    }
}

TEST_CASE("kube json: pod1's veth is Calico's, kube-proxy pods are host-networked, pod3 is web") {
    const Inventory inv = inventory(Mode::ipip);
    const auto* pod1 = inv.pod("default", "pod1");
    REQUIRE(pod1);
    CHECK(pod1->veth == "calice0906292e2");  // ../shared/DESIGN.md's check vector
    CHECK(inv.pod_by_veth("k8s-w1", "calice0906292e2") == pod1);

    for (const auto& n : kNodes) {
        CAPTURE(n.name);
        const podtrace::trace::Pod* proxy = nullptr;
        for (const auto& p : inv.pods())
            if (p.ns == "kube-system" && p.node == n.name) proxy = &p;
        REQUIRE(proxy);
        CHECK(proxy->name.starts_with("kube-proxy-"));
        CHECK(proxy->name.size() == std::string("kube-proxy-").size() + 5);
        CHECK(proxy->host_network);
        CHECK(proxy->veth.empty());
        CHECK(proxy->ips == std::vector{ip(n.ip)});
    }

    // The service's selector picks exactly its endpoint pod.
    const json pods = json::parse(pods_json());
    const json svcs = json::parse(services_json());
    json web;
    for (const auto& s : svcs["items"])
        if (s["metadata"]["name"] == "web") web = s;
    REQUIRE(web["spec"]["selector"] == json{{"app", "web"}});
    std::vector<std::string> selected;
    for (const auto& p : pods["items"]) {
        const json labels = p["metadata"].value("labels", json::object());
        if (labels.value("app", "") == "web") selected.push_back(p["metadata"]["name"]);
    }
    CHECK(selected == std::vector<std::string>{"pod3"});
    for (const auto& p : pods["items"]) {
        CHECK(p["status"]["phase"] == "Running");
        bool ready = false;
        for (const auto& c : p["status"]["conditions"])
            ready = ready || (c["type"] == "Ready" && c["status"] == "True");
        CHECK(ready);
    }
}

TEST_CASE("kube json: Calico's node annotations follow the mode; a WireGuard key only if given") {
    auto annotations = [](Mode m, const std::map<std::string, std::string>& wg) {
        std::map<std::string, json> out;  // node → annotations
        const json doc = json::parse(nodes_json(m, wg));
        for (const auto& n : doc["items"])
            out[n["metadata"]["name"]] = n["metadata"]["annotations"];
        return out;
    };
    const std::string ipip = "projectcalico.org/IPv4IPIPTunnelAddr";
    const std::string vxlan = "projectcalico.org/IPv4VXLANTunnelAddr";
    const std::string mac = "projectcalico.org/VXLANTunnelMACAddr";
    const std::string wg = "projectcalico.org/IPv4WireguardInterfaceAddr";
    const std::string key = "projectcalico.org/WireguardPublicKey";
    const std::string w1key = "u8lGpDZ4PS6GCfYwY+OkGbuEzhKZaa5PFqNUHnhvMWU=";

    auto a = annotations(Mode::ipip, {});
    CHECK(a["k8s-w1"]["projectcalico.org/IPv4Address"] == "192.168.10.101/24");
    CHECK(a["k8s-w0"]["projectcalico.org/IPv4Address"] == "192.168.20.100/24");
    CHECK(a["k8s-w1"][ipip] == "172.16.158.0");
    CHECK(!a["k8s-w1"].contains(vxlan));
    CHECK(annotations(Mode::crosssubnet, {})["k8s-w0"][ipip] == "172.16.34.0");

    a = annotations(Mode::vxlan, {});
    CHECK(a["k8s-w2"][vxlan] == "172.16.184.0");
    CHECK(a["k8s-w2"][mac] == "66:9d:8a:01:01:02");
    CHECK(!a["k8s-w2"].contains(ipip));

    a = annotations(Mode::wireguard, {{"k8s-w1", w1key}});
    CHECK(a["k8s-w1"][wg] == "172.16.158.0");
    CHECK(a["k8s-w1"][key] == w1key);
    CHECK(a["k8s-w2"][wg] == "172.16.184.0");
    CHECK(!a["k8s-w2"].contains(key));
    CHECK(!annotations(Mode::wireguard, {})["k8s-w1"].contains(key));
    CHECK(!annotations(Mode::ipip, {{"k8s-w1", w1key}})["k8s-w1"].contains(key));

    for (const auto& [node, ann] : annotations(Mode::direct, {})) {
        CAPTURE(node);
        for (const auto& k : {ipip, vxlan, mac, wg, key}) CHECK(!ann.contains(k));
    }

    const json w1 = json::parse(nodes_json(Mode::ipip))["items"][1];
    REQUIRE(w1["metadata"]["name"] == "k8s-w1");
    CHECK(w1["spec"]["podCIDR"] == "172.16.158.0/24");
    CHECK(w1["status"]["addresses"] ==
          json::parse(R"([{"address":"192.168.10.101","type":"InternalIP"},
                          {"address":"k8s-w1","type":"Hostname"}])"));
}

TEST_CASE("kube json: kubectl's layout, in kubectl's order, the same on every recording") {
    for (const std::string& text :
         {pods_json(), services_json(), nodes_json(Mode::vxlan)}) {
        const json doc = json::parse(text);
        CHECK(doc["kind"] == "List");
        CHECK(doc["apiVersion"] == "v1");
        CHECK(doc["metadata"] == json{{"resourceVersion", ""}});
        CHECK(doc.dump(4) + "\n" == text);  // 4-space indent, keys sorted, trailing newline
        std::vector<std::pair<std::string, std::string>> order;
        for (const auto& item : doc["items"])
            order.emplace_back(item["metadata"].value("namespace", ""),
                               item["metadata"]["name"].get<std::string>());
        CHECK(std::is_sorted(order.begin(), order.end()));
        for (const auto& item : doc["items"]) {
            CHECK(item["metadata"]["creationTimestamp"] == "2026-11-27T00:00:00Z");
            CHECK(item["metadata"]["uid"].get<std::string>().size() == 36);
        }
    }
    CHECK(pods_json() == pods_json());
    CHECK(nodes_json(Mode::wireguard, {{"k8s-w1", "k"}}) ==
          nodes_json(Mode::wireguard, {{"k8s-w1", "k"}}));
    std::set<std::string> uids;
    std::size_t items = 0;
    for (const std::string& text :
         {pods_json(), services_json(), nodes_json(Mode::ipip)}) {
        const json doc = json::parse(text);
        for (const auto& item : doc["items"]) {
            uids.insert(item["metadata"]["uid"].get<std::string>());
            ++items;
        }
    }
    CHECK(uids.size() == items);
}

TEST_CASE("kube json: write_kube_json writes the three files whole") {
    TempDir tmp;
    const fs::path dir = tmp.path / "record" / "ipip";  // made on the way
    const std::map<std::string, std::string> keys = {{"k8s-w2", "key2="}};
    require(write_kube_json(dir.string(), Mode::wireguard, keys));
    CHECK(entries(dir) == std::set<std::string>{"nodes.json", "pods.json", "services.json"});
    CHECK(slurp(dir / "pods.json") == pods_json());
    CHECK(slurp(dir / "services.json") == services_json());
    CHECK(slurp(dir / "nodes.json") == nodes_json(Mode::wireguard, keys));

    // Recording again replaces them.
    require(write_kube_json(dir.string(), Mode::vxlan));
    CHECK(entries(dir) == std::set<std::string>{"nodes.json", "pods.json", "services.json"});
    CHECK(slurp(dir / "nodes.json") == nodes_json(Mode::vxlan));

    Inventory inv;
    REQUIRE(inv.add_pods(slurp(dir / "pods.json")));
    REQUIRE(inv.add_services(slurp(dir / "services.json")));
    REQUIRE(inv.add_nodes(slurp(dir / "nodes.json")));
    CHECK(inv.name_of(ip("172.16.158.1")) == "default/pod1");
    CHECK(inv.name_of(ip("10.200.1.10")) == "default/web (service)");
    CHECK(inv.name_of(ip("192.168.10.102")) == "k8s-w2 (node)");
}

TEST_CASE("kube json: a failed write names the path and leaves no part behind") {
    TempDir tmp;
    SECTION("the directory is a regular file") {
        const fs::path file = tmp.path / "not-a-dir";
        std::ofstream(file) << "keep";
        auto written = write_kube_json(file.string(), Mode::ipip);
        REQUIRE_FALSE(written.has_value());
        CHECK_THAT(written.error().message, Catch::Contains(file.string()));
        CHECK(slurp(file) == "keep");
        CHECK(entries(tmp.path) == std::set<std::string>{"not-a-dir"});
    }
    SECTION("one file cannot be replaced") {
        fs::create_directories(tmp.path / "nodes.json");  // rename(2) cannot put a file there
        auto written = write_kube_json(tmp.path.string(), Mode::ipip);
        REQUIRE_FALSE(written.has_value());
        CHECK_THAT(written.error().message, Catch::Contains((tmp.path / "nodes.json").string()));
        // The files before it are whole; no temporary file is left.
        CHECK(entries(tmp.path) == std::set<std::string>{"nodes.json", "pods.json", "services.json"});
        CHECK(fs::is_directory(tmp.path / "nodes.json"));
        CHECK(fs::is_empty(tmp.path / "nodes.json"));
        CHECK(slurp(tmp.path / "pods.json") == pods_json());
    }
}
