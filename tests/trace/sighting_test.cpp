#include <catch2/catch.hpp>

#include "crafted.hpp"

using namespace podtrace;
using namespace podtrace::trace;
using namespace podtrace::test;

TEST_CASE("point kinds follow Calico's interface names") {
    CHECK(point_kind("calice0906292e2") == PointKind::pod_veth);
    CHECK(point_kind("tunl0") == PointKind::ipip_tunnel);
    CHECK(point_kind("vxlan.calico") == PointKind::vxlan_tunnel);
    CHECK(point_kind("wireguard.cali") == PointKind::wireguard);
    CHECK(point_kind("ens5") == PointKind::nic);
    CHECK(point_kind("eth0") == PointKind::nic);
}

TEST_CASE("names are interned once") {
    Names n;
    const auto a = n.intern("k8s-w1");
    CHECK(n.intern("ens5") != a);
    CHECK(n.intern("k8s-w1") == a);
    CHECK(n.name(a) == "k8s-w1");
    CHECK(n.size() == 2);
    const auto p = make_point(n, "k8s-w1", "tunl0");
    CHECK(p.node == a);
    CHECK(p.kind == PointKind::ipip_tunnel);
}

TEST_CASE("a sighting keeps the headers seen at its point") {
    Names n;
    SECTION("VXLAN on the NIC: outer addresses, VNI, inner 5-tuple") {
        auto inner =
            Tins::EthernetII() / ip("172.16.158.2", "172.16.184.4", 63, 7) / tcp(41000, 80, 1000);
        auto frame = Tins::EthernetII(kPeerMac, kNicMac) /
                     ip("192.168.10.101", "192.168.10.102", 64) / Tins::UDP(4789, 53412) /
                     Tins::RawPDU(vxlan_payload(4096, bytes_of(inner)));
        const auto s = sight(n, "k8s-w1", "ens5", 5, frame);
        CHECK(s.encap == Encap::vxlan);
        CHECK(s.tunnel_id == 4096);
        CHECK(v4(s.outer_src) == v4("192.168.10.101"));
        CHECK(v4(s.outer_dst) == v4("192.168.10.102"));
        CHECK(v4(s.src) == v4("172.16.158.2"));
        CHECK(v4(s.dst) == v4("172.16.184.4"));
        CHECK(s.sport == 41000);
        CHECK(s.dport == 80);
        CHECK(s.proto == 6);
        CHECK(s.tcp_flags == Tins::TCP::SYN);
        CHECK(s.ttl == 63);
        CHECK(s.ip_id == 7);
        CHECK(s.length == 40);
        CHECK(s.ts_ns == 5);
        CHECK(s.fingerprint != 0);
        CHECK(s.direction == core::Direction::unknown);
    }
    SECTION("WireGuard data: receiver and counter") {
        auto frame = Tins::EthernetII(kPeerMac, kNicMac) /
                     ip("192.168.10.101", "192.168.10.102", 64) / Tins::UDP(51820, 51820) /
                     Tins::RawPDU(wg_data(0x11223344, 9, 84));
        const auto s = sight(n, "k8s-w1", "ens5", 0, frame);
        CHECK(s.encap == Encap::wireguard);
        CHECK(s.tunnel_id == 0x11223344);
        CHECK(s.wg_counter == 9);
        CHECK(s.wg_type == 4);
    }
    SECTION("on a pod veth the proxy-ARP MAC gives the direction") {
        auto from_pod =
            Tins::EthernetII(kCali, kPodMac) / ip("172.16.158.1", "1.1.1.1", 64) / tcp(1, 2, 3);
        auto to_pod =
            Tins::EthernetII(kPodMac, kCali) / ip("1.1.1.1", "172.16.158.1", 60) / tcp(2, 1, 3);
        CHECK(sight(n, "k8s-w1", "cali1", 0, from_pod).direction == core::Direction::inbound);
        CHECK(sight(n, "k8s-w1", "cali1", 0, to_pod).direction == core::Direction::outbound);
        CHECK(sight(n, "k8s-w1", "ens5", 0, to_pod).direction == core::Direction::unknown);
    }
    CHECK(sizeof(Sighting) <= 160);
}
