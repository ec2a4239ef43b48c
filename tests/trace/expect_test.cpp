#include <catch2/catch.hpp>

#include <algorithm>

#include "crafted.hpp"
#include "trace/expect.hpp"

using namespace podtrace;
using namespace podtrace::trace;
using namespace podtrace::test;

namespace {

constexpr std::int64_t kUs = 1'000;

const std::string kGrammar =
    "; expected 'SRC -> DST: KIND', 'no-drops' or 'encrypted'; KIND: same-node | cross-node "
    "[encap=ipip|vxlan|wireguard|direct] | egress [snat] | service [dnat]; SRC/DST: "
    "namespace/name or an IP address";

constexpr const char* kPods = R"({"kind": "List", "items": [
  {"metadata": {"namespace": "default", "name": "pod1"}, "spec": {"nodeName": "k8s-w1"},
   "status": {"podIP": "172.16.158.1", "podIPs": [{"ip": "172.16.158.1"}]}},
  {"metadata": {"namespace": "default", "name": "pod2"}, "spec": {"nodeName": "k8s-w1"},
   "status": {"podIP": "172.16.158.2", "podIPs": [{"ip": "172.16.158.2"}]}},
  {"metadata": {"namespace": "default", "name": "pod3"}, "spec": {"nodeName": "k8s-w2"},
   "status": {"podIP": "172.16.184.4", "podIPs": [{"ip": "172.16.184.4"}]}}]})";

constexpr const char* kServices = R"({"kind": "List", "items": [
  {"metadata": {"namespace": "default", "name": "web"},
   "spec": {"clusterIP": "10.200.1.10", "clusterIPs": ["10.200.1.10"],
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}}]})";

Inventory inventory() {
    Inventory inv;
    REQUIRE(inv.add_pods(kPods));
    REQUIRE(inv.add_services(kServices));
    return inv;
}

Expectation parse(const char* text) {
    auto e = parse_expectation(text);
    INFO(text);
    REQUIRE(e);
    return *e;
}

std::string error(const char* text) {
    auto e = parse_expectation(text);
    INFO(text);
    REQUIRE_FALSE(e);
    return e.error().message;
}

FlowTable table(const std::vector<Sighting>& in) {
    Correlator c;
    for (const Sighting& s : in) c.add(s);
    c.finish();
    FlowTable t;
    for (const Path& p : c.drain()) t.add(p, classify(p));
    return t;
}

// pod1 -> pod2 on k8s-w1, one ACK segment delivered.
std::vector<Sighting> same_node(Names& n) {
    auto out = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.158.2", 64) /
               tcp(40000, 8080, 5, Tins::TCP::ACK);
    auto in = Tins::EthernetII(kPodMac, kCali) / ip("172.16.158.1", "172.16.158.2", 63) /
              tcp(40000, 8080, 5, Tins::TCP::ACK);
    return {sight(n, "k8s-w1", "calice0906292e2", 0, out),
            sight(n, "k8s-w1", "calibd2348b4f67", 7 * kUs, in)};
}

// pod1 -> pod3 over IPIP from k8s-w1: `segments` ACKs, 1 ms apart.
std::vector<Sighting> cross_node_ipip(Names& n, int segments) {
    std::vector<Sighting> v;
    for (int i = 0; i < segments; ++i) {
        const std::int64_t t = i * 1'000 * kUs;
        const auto seq = static_cast<std::uint32_t>(100 + i);
        auto out = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.184.4", 64) /
                   tcp(40000, 80, seq, Tins::TCP::ACK);
        auto wire = Tins::EthernetII(kPeerMac, kNicMac) /
                    ip("192.168.10.101", "192.168.10.102", 64, 0x9001) /
                    (ip("172.16.158.1", "172.16.184.4", 63) / tcp(40000, 80, seq, Tins::TCP::ACK));
        v.push_back(sight(n, "k8s-w1", "calice0906292e2", t, out));
        v.push_back(sight(n, "k8s-w1", "ens5", t + 10 * kUs, wire));
    }
    return v;
}

// pod1 -> pod3 through wireguard.cali: pod IPs never on the wire.
std::vector<Sighting> cross_node_wireguard(Names& n) {
    auto out = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "172.16.184.4", 64) /
               tcp(40000, 80, 100, Tins::TCP::ACK);
    auto plain = ip("172.16.158.1", "172.16.184.4", 63) / tcp(40000, 80, 100, Tins::TCP::ACK);
    return {sight(n, "k8s-w1", "calice0906292e2", 0, out),
            sight(n, "k8s-w1", "wireguard.cali", 10 * kUs, plain, core::linktype::raw)};
}

// pod1 -> 203.0.113.10:443, the source rewritten to k8s-w1's address on ens5 when `snat`.
std::vector<Sighting> egress(Names& n, bool snat) {
    auto out = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "203.0.113.10", 64) /
               tcp(40500, 443, 100, Tins::TCP::ACK);
    auto wire = Tins::EthernetII(kPeerMac, kNicMac) /
                ip(snat ? "192.168.10.101" : "172.16.158.1", "203.0.113.10", 63) /
                tcp(snat ? 61000 : 40500, 443, 100, Tins::TCP::ACK);
    return {sight(n, "k8s-w1", "calice0906292e2", 0, out),
            sight(n, "k8s-w1", "ens5", 12 * kUs, wire)};
}

// pod2 -> web (10.200.1.10:80), DNATed to pod3:8080, and pod3's SYN-ACK back when `answered`.
std::vector<Sighting> service(Names& n, bool answered) {
    auto at_cali = Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.2", "10.200.1.10", 64) /
                   tcp(41000, 80, 9);
    auto at_tunl0 = ip("172.16.158.2", "172.16.184.4", 63) / tcp(41000, 8080, 9);
    std::vector<Sighting> v{sight(n, "k8s-w1", "calibd2348b4f67", 0, at_cali),
                            sight(n, "k8s-w1", "tunl0", 20 * kUs, at_tunl0, core::linktype::raw)};
    if (answered) {
        auto back = ip("172.16.184.4", "172.16.158.2", 63, 0) /
                    tcp(8080, 41000, 50, Tins::TCP::SYN | Tins::TCP::ACK);
        auto to_client = Tins::EthernetII(kPodMac, kCali) /
                         ip("10.200.1.10", "172.16.158.2", 62, 0) /
                         tcp(80, 41000, 50, Tins::TCP::SYN | Tins::TCP::ACK);
        v.push_back(sight(n, "k8s-w1", "tunl0", 400 * kUs, back, core::linktype::raw));
        v.push_back(sight(n, "k8s-w1", "calibd2348b4f67", 410 * kUs, to_client));
    }
    return v;
}

ExpectResult eval(const char* text, const FlowTable& t, const Inventory& inv,
                  const std::vector<Diagnosis>& findings = {}) {
    auto r = evaluate(parse(text), t, findings, inv);
    INFO(text);
    REQUIRE(r);
    return *r;
}

}  // namespace

TEST_CASE("expect: parse path expectations", "[expect]") {
    const auto e = parse("  default/pod1 -> default/pod3: cross-node encap=ipip ");
    CHECK(e.text == "default/pod1 -> default/pod3: cross-node encap=ipip");
    CHECK(e.type == Expectation::Type::path);
    CHECK(e.src.text == "default/pod1");
    CHECK(e.src.ns == "default");
    CHECK(e.src.name == "pod1");
    CHECK_FALSE(e.src.ip);
    CHECK(e.dst.name == "pod3");
    CHECK(e.kind == PathKind::cross_node);
    REQUIRE(e.encap);
    CHECK(*e.encap == Encap::ipip);
    CHECK_FALSE(e.snat);

    const auto direct = parse("default/pod1 -> default/pod3: cross-node encap=direct");
    REQUIRE(direct.encap);
    CHECK(*direct.encap == Encap::none);

    const auto v6 = parse("10.0.0.1 -> fd00::1: egress snat");
    REQUIRE(v6.src.ip);
    CHECK(v6.src.ip->str() == "10.0.0.1");
    REQUIRE(v6.dst.ip);
    CHECK(v6.dst.ip->str() == "fd00::1");
    CHECK(v6.kind == PathKind::egress);
    CHECK(v6.snat);

    const auto tight = parse("172.16.158.2->10.200.1.10:service dnat");
    CHECK(tight.dst.ip->str() == "10.200.1.10");
    CHECK(tight.kind == PathKind::service);
    CHECK(tight.dnat);

    CHECK(parse(" no-drops").type == Expectation::Type::no_drops);
    CHECK(parse("encrypted\n").type == Expectation::Type::encrypted);
    CHECK(parse("a/b -> c/d: same-node").kind == PathKind::same_node);
}

TEST_CASE("expect: bad expectations name the culprit and the grammar", "[expect]") {
    CHECK(error("nodrops") == "--expect \"nodrops\": unknown expectation 'nodrops'" + kGrammar);
    CHECK(error("   ") == "--expect \"   \": empty expectation" + kGrammar);
    CHECK(error("default/pod1 default/pod3: same-node") ==
          "--expect \"default/pod1 default/pod3: same-node\": no '->' between SRC and DST" +
              kGrammar);
    CHECK(error("default/pod1 -> default/pod3") ==
          "--expect \"default/pod1 -> default/pod3\": no ': KIND' after DST" + kGrammar);
    CHECK(error("default/pod1 -> default/pod3:") ==
          "--expect \"default/pod1 -> default/pod3:\": no KIND after ':'" + kGrammar);
    CHECK(error("pod1 -> default/pod3: same-node") ==
          "--expect \"pod1 -> default/pod3: same-node\": SRC 'pod1' is neither an IP address "
          "nor namespace/name" +
              kGrammar);
    CHECK(error("default/pod1 -> a/b/c: same-node").find("DST 'a/b/c' is neither") !=
          std::string::npos);
    CHECK(error("default/pod1 -> /pod3: same-node").find("DST '/pod3' is neither") !=
          std::string::npos);
    CHECK(error(" -> default/pod3: same-node").find(": no SRC;") != std::string::npos);
    CHECK(error("default/pod1 -> default/pod3: teleport") ==
          "--expect \"default/pod1 -> default/pod3: teleport\": unknown kind 'teleport'" +
              kGrammar);
    CHECK(error("default/pod1 -> default/pod3: cross-node snat") ==
          "--expect \"default/pod1 -> default/pod3: cross-node snat\": qualifier 'snat' goes "
          "with egress only" +
              kGrammar);
    CHECK(error("a/b -> 1.1.1.1: egress encap=ipip")
              .find("qualifier 'encap=ipip' goes with cross-node only;") != std::string::npos);
    CHECK(error("a/b -> c/d: same-node dnat").find("qualifier 'dnat' goes with service only;") !=
          std::string::npos);
    CHECK(error("a/b -> c/d: cross-node encap=gre")
              .find(": unknown encapsulation in qualifier 'encap=gre';") != std::string::npos);
    CHECK(error("a/b -> c/d: cross-node encap=ipip encap=vxlan")
              .find(": qualifier 'encap=vxlan' given twice;") != std::string::npos);
    CHECK(error("a/b -> 1.1.1.1: egress snat snat").find(": qualifier 'snat' given twice;") !=
          std::string::npos);
    CHECK(error("a/b -> c/d: same-node fast").find(": unknown qualifier 'fast';") !=
          std::string::npos);
}

TEST_CASE("expect: names resolve with the inventory, else an error", "[expect]") {
    Names n;
    const auto t = table(same_node(n));
    const Inventory empty;
    auto r = evaluate(parse("default/pod1 -> default/pod2: same-node"), t, {}, empty);
    REQUIRE_FALSE(r);
    CHECK(r.error().message ==
          "default/pod1: a name needs the inventory: pass --pods and --services (kubectl get "
          "pods,svc -A -o json), or use an IP address");
    const auto inv = inventory();
    r = evaluate(parse("default/pod1 -> default/pod9: same-node"), t, {}, inv);
    REQUIRE_FALSE(r);
    CHECK(r.error().message ==
          "default/pod9: no pod or service of that name in --pods/--services (3 pods, 1 service "
          "loaded)");
    // IP literals need no inventory.
    CHECK(eval("172.16.158.1 -> 172.16.158.2: same-node", t, empty).held);
}

TEST_CASE("expect: same-node held and failed", "[expect]") {
    Names n;
    const auto inv = inventory();
    const auto t = table(same_node(n));
    auto r = eval("default/pod1 -> default/pod2: same-node", t, inv);
    CHECK(r.held);
    CHECK(r.detail == "1 flow, 1 packet: same-node");
    r = eval("default/pod1 -> default/pod2: cross-node", t, inv);
    CHECK_FALSE(r.held);
    CHECK(r.detail == "saw same-node");
    r = eval("default/pod2 -> default/pod1: same-node", t, inv);
    CHECK_FALSE(r.held);
    CHECK(r.detail ==
          "saw traffic only from default/pod1 (172.16.158.1) to default/pod2 (172.16.158.2)");
    r = eval("default/pod1 -> default/pod3: same-node", t, inv);
    CHECK_FALSE(r.held);
    CHECK(r.detail ==
          "no traffic from default/pod1 (172.16.158.1) to default/pod3 (172.16.184.4) in the "
          "captures");
}

TEST_CASE("expect: a path seen at one point only cannot be classified", "[expect]") {
    Names n;
    auto v = same_node(n);
    v.pop_back();
    const auto r = eval("default/pod1 -> default/pod2: same-node", table(v), inventory());
    CHECK_FALSE(r.held);
    CHECK(r.detail == "1 flow seen, but the path could not be classified: capture points missing?");
}

TEST_CASE("expect: cross-node encapsulation", "[expect]") {
    Names n;
    const auto inv = inventory();
    const auto t = table(cross_node_ipip(n, 3));
    auto r = eval("default/pod1 -> default/pod3: cross-node encap=ipip", t, inv);
    CHECK(r.held);
    CHECK(r.detail == "1 flow, 3 packets: cross-node IPIP");
    r = eval("default/pod1 -> default/pod3: cross-node encap=vxlan", t, inv);
    CHECK_FALSE(r.held);
    CHECK(r.detail == "saw cross-node IPIP");
    r = eval("default/pod1 -> default/pod3: cross-node encap=direct", t, inv);
    CHECK_FALSE(r.held);
    CHECK(r.detail == "saw cross-node IPIP");
    CHECK(eval("default/pod1 -> default/pod3: cross-node", t, inv).held);
}

TEST_CASE("expect: egress with and without SNAT", "[expect]") {
    Names n;
    const auto inv = inventory();
    const auto with = table(egress(n, true));
    auto r = eval("default/pod1 -> 203.0.113.10: egress snat", with, inv);
    CHECK(r.held);
    CHECK(r.detail == "1 flow, 1 packet: egress with SNAT to 192.168.10.101");

    const auto without = table(egress(n, false));
    // What diagnose() finds when the pools are known: the destination is outside them.
    const std::vector<Diagnosis> findings{
        {DiagnosisKind::egress_without_snat, 1, 0, "on k8s-w1/ens5", "", "", 1, 0, {}, {}}};
    r = eval("default/pod1 -> 203.0.113.10: egress snat", without, inv, findings);
    CHECK_FALSE(r.held);
    CHECK(r.detail == "saw egress without SNAT");
    CHECK(eval("default/pod1 -> 203.0.113.10: egress", without, inv, findings).held);
    // Without that finding the pod address on the wire looks like direct routing.
    r = eval("default/pod1 -> 203.0.113.10: egress", without, inv);
    CHECK_FALSE(r.held);
    CHECK(r.detail == "saw cross-node direct");
}

TEST_CASE("expect: service DNAT to an endpoint that answered", "[expect]") {
    Names n;
    const auto inv = inventory();
    const auto answered = table(service(n, true));
    auto r = eval("default/pod2 -> default/web: service dnat", answered, inv);
    CHECK(r.held);
    CHECK(r.detail == "1 flow, 2 packets: service with DNAT to 172.16.184.4, cross-node IPIP");
    // The endpoint named instead of the service matches the same flow.
    CHECK(eval("default/pod2 -> default/pod3: service dnat", answered, inv).held);
    // So does the way it went on to the endpoint, by either name.
    CHECK(eval("default/pod2 -> default/web: cross-node encap=ipip", answered, inv).held);
    CHECK(eval("default/pod2 -> default/pod3: cross-node", answered, inv).held);
    r = eval("default/pod2 -> default/web: same-node", answered, inv);
    CHECK_FALSE(r.held);
    CHECK(r.detail == "saw service with DNAT to 172.16.184.4, cross-node IPIP");
    CHECK_FALSE(eval("default/pod2 -> default/pod3: cross-node encap=vxlan", answered, inv).held);

    Names n2;
    const auto silent = table(service(n2, false));
    r = eval("default/pod2 -> default/web: service dnat", silent, inv);
    CHECK_FALSE(r.held);
    CHECK(r.detail ==
          "saw service DNAT to 172.16.184.4, endpoint never reached, cross-node IPIP");
    CHECK(eval("default/pod2 -> default/web: service", silent, inv).held);
}

TEST_CASE("expect: no-drops lists where", "[expect]") {
    Names n;
    const auto t = table(same_node(n));
    const Inventory inv;
    auto r = eval("no-drops", t, inv);
    CHECK(r.held);
    CHECK(r.detail == "no drops in 1 flow");
    std::vector<Diagnosis> findings;
    for (const char* where :
         {"on k8s-w2 after tunl0, before cali1", "on k8s-w1 after cali2, before tunl0",
          "after k8s-w1/ens5, before k8s-w2/ens5", "on k8s-w2 after ens5, before tunl0"})
        findings.push_back({DiagnosisKind::dropped, 1, 0, where, "", "", 1, 0, {}, {}});
    findings.push_back(
        {DiagnosisKind::no_reply, 1, 0, "last seen on k8s-w1/cali1", "", "", 1, 0, {}, {}});
    r = eval("no-drops", t, inv, findings);
    CHECK_FALSE(r.held);
    CHECK(r.detail ==
          "4 drops: on k8s-w2 after tunl0, before cali1; on k8s-w1 after cali2, before tunl0; "
          "after k8s-w1/ens5, before k8s-w2/ens5; ...");
}

TEST_CASE("expect: encrypted", "[expect]") {
    const auto inv = inventory();
    Names n;
    auto r = eval("encrypted", table(same_node(n)), inv);
    CHECK_FALSE(r.held);
    CHECK(r.detail == "no cross-node traffic in the captures: nothing shows encryption");

    r = eval("encrypted", table(cross_node_wireguard(n)), inv);
    CHECK(r.held);
    CHECK(r.detail == "1 cross-node flow, all over WireGuard");

    r = eval("encrypted", table(cross_node_ipip(n, 2)), inv);
    CHECK_FALSE(r.held);
    CHECK(r.detail ==
          "1 of 1 cross-node flow not encrypted: flow 1 default/pod1 (172.16.158.1) -> "
          "default/pod3 (172.16.184.4): 2 packets in clear on the wire");
}
