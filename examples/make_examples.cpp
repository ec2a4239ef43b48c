// Writes the bundled example captures: what the seed study's cluster (../shared/DESIGN.md)
// shows at k8s-w1's capture points. Crafted with libtins until `podtrace lab record` can
// record them from a running lab; deterministic so the golden tests can rely on them.
#include <tins/tins.h>

#include <cstdio>
#include <string>

using namespace Tins;

// libtins names no link type for raw IP; libpcap maps DLT_RAW to LINKTYPE_RAW (101) in files.
template <>
struct Tins::DataLinkType<IP> {
    static const int type = DLT_RAW;
    int get_type() const { return type; }
};

namespace {

const IPv4Address kPod1("172.16.158.1");
const IPv4Address kPod2("172.16.158.2");
const IPv4Address kPod3("172.16.184.4");
const IPv4Address kW1("192.168.10.101");
const IPv4Address kW2("192.168.10.102");
const IPv4Address kInternet("203.0.113.10");
const HWAddress<6> kCaliMac(std::string("ee:ee:ee:ee:ee:ee"));
const HWAddress<6> kPod1Mac(std::string("4e:5a:1c:00:00:01"));
const HWAddress<6> kW1Mac(std::string("02:00:c0:a8:0a:65"));
const HWAddress<6> kW2Mac(std::string("02:00:c0:a8:0a:66"));
const HWAddress<6> kGwMac(std::string("02:00:c0:a8:0a:01"));

class Clock {
public:
    timeval next(long step_us) {
        us_ += step_us;
        return timeval{static_cast<time_t>(us_ / 1'000'000),
                       static_cast<suseconds_t>(us_ % 1'000'000)};
    }

private:
    long long us_ = 1'798'000'000'000'000LL;  // 2026-12-23 04:26:40 UTC, a fixed moment
};

IP pod_ip(IPv4Address dst, IPv4Address src, std::uint8_t ttl, std::uint16_t id) {
    IP ip(dst, src);
    ip.ttl(ttl);
    ip.id(id);
    ip.flags(IP::DONT_FRAGMENT);
    return ip;
}

ICMP echo(ICMP::Flags type, std::uint16_t seq) {
    ICMP icmp(type);
    icmp.id(7);
    icmp.sequence(seq);
    return icmp;
}

RawPDU ping_data(std::uint16_t seq) {
    std::string s(56, '\0');
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i + seq);
    return RawPDU(s);
}

TCP segment(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
            std::uint16_t flags) {
    TCP t(dport, sport);
    t.seq(seq);
    t.ack_seq(ack);
    t.flags(flags);
    t.window(64240);
    return t;
}

RawPDU vxlan(std::uint32_t vni, PDU& inner) {
    auto b = inner.serialize();
    std::vector<std::uint8_t> v(8 + b.size());
    v[0] = 0x08;  // I flag: the VNI is valid
    v[4] = static_cast<std::uint8_t>(vni >> 16);
    v[5] = static_cast<std::uint8_t>(vni >> 8);
    v[6] = static_cast<std::uint8_t>(vni);
    std::copy(b.begin(), b.end(), v.begin() + 8);
    return RawPDU(v);
}

RawPDU wireguard(std::uint8_t type, std::uint32_t a, std::uint32_t b, std::uint64_t counter,
                 std::size_t size) {
    std::vector<std::uint8_t> v(size, 0x5a);
    v[0] = type;
    v[1] = v[2] = v[3] = 0;
    for (int i = 0; i < 4; ++i) v[4 + i] = static_cast<std::uint8_t>(a >> (8 * i));
    if (type == 2)
        for (int i = 0; i < 4; ++i) v[8 + i] = static_cast<std::uint8_t>(b >> (8 * i));
    if (type == 4)
        for (int i = 0; i < 8; ++i) v[8 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
    return RawPDU(v);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    std::string dir = argv[1];
    auto put = [](PacketWriter& w, const PDU& pdu, timeval tv) {
        Packet p(pdu, Timestamp(tv));
        w.write(p);
    };
    Clock clock;

    // pod1's veth on k8s-w1 (cali + sha1("default.pod1")[:11]).
    PacketWriter cali(dir + "/k8s-w1_calice0906292e2.pcap", DataLinkType<EthernetII>());
    // tunl0 on k8s-w1: raw IP, decapsulated.
    PacketWriter tunl0(dir + "/k8s-w1_tunl0.pcap", DataLinkType<IP>());
    // the node's NIC.
    PacketWriter ens5(dir + "/k8s-w1_ens5.pcap", DataLinkType<EthernetII>());

    // pod1 asks for its default gateway; the veth answers by proxy ARP.
    auto who = ARP::make_arp_request(IPv4Address("169.254.1.1"), kPod1, kPod1Mac);
    put(cali, who, clock.next(1000));
    auto is_at = ARP::make_arp_reply(kPod1, IPv4Address("169.254.1.1"), kPod1Mac, kCaliMac);
    put(cali, is_at, clock.next(40));

    // Cross-node IPIP: pod1 -> pod3 ping, seen on cali, tunl0 and ens5, and the replies.
    for (std::uint16_t seq = 1; seq <= 2; ++seq) {
        auto req =
            pod_ip(kPod3, kPod1, 64, 0x3e80 + seq) / echo(ICMP::ECHO_REQUEST, seq) / ping_data(seq);
        auto at_cali = EthernetII(kCaliMac, kPod1Mac) / req;
        put(cali, at_cali, clock.next(1000));
        auto routed =
            pod_ip(kPod3, kPod1, 63, 0x3e80 + seq) / echo(ICMP::ECHO_REQUEST, seq) / ping_data(seq);
        put(tunl0, routed, clock.next(12));
        IP outer(kW2, kW1);
        outer.ttl(64);
        outer.id(0x9000 + seq);
        auto wire = EthernetII(kW2Mac, kW1Mac) / outer / routed;
        put(ens5, wire, clock.next(6));

        auto rep =
            pod_ip(kPod1, kPod3, 63, 0x7100 + seq) / echo(ICMP::ECHO_REPLY, seq) / ping_data(seq);
        IP outer_back(kW1, kW2);
        outer_back.ttl(64);
        outer_back.id(0xa000 + seq);
        auto back = EthernetII(kW1Mac, kW2Mac) / outer_back / rep;
        put(ens5, back, clock.next(410));
        put(tunl0, rep, clock.next(0));  // decapsulated: the NIC's receive timestamp
        auto delivered =
            pod_ip(kPod1, kPod3, 62, 0x7100 + seq) / echo(ICMP::ECHO_REPLY, seq) / ping_data(seq);
        auto to_pod = EthernetII(kPod1Mac, kCaliMac) / delivered;
        put(cali, to_pod, clock.next(9));
    }

    // Cross-node VXLAN (another cluster mode): pod2 -> pod3 TCP SYN inside VNI 4096.
    auto syn = EthernetII(HWAddress<6>(std::string("66:00:00:00:b8:04")),
                          HWAddress<6>(std::string("66:00:00:00:9e:00"))) /
               pod_ip(kPod3, kPod2, 63, 0x1f00) / segment(41000, 80, 1000, 0, TCP::SYN);
    IP vx_outer(kW2, kW1);
    vx_outer.id(0x2000);
    vx_outer.ttl(64);
    auto vx = EthernetII(kW2Mac, kW1Mac) / vx_outer / UDP(4789, 53412) / vxlan(4096, syn);
    put(ens5, vx, clock.next(2000));

    // WireGuard between the nodes: handshake, then transport data (the pod packet is sealed).
    auto wg = [&](std::uint8_t type, std::uint32_t a, std::uint32_t b, std::uint64_t ctr,
                  std::size_t size, bool out) {
        IP ip(out ? kW2 : kW1, out ? kW1 : kW2);
        ip.ttl(64);
        auto pkt = EthernetII(out ? kW2Mac : kW1Mac, out ? kW1Mac : kW2Mac) / ip /
                   UDP(51820, 51820) / wireguard(type, a, b, ctr, size);
        put(ens5, pkt, clock.next(300));
    };
    wg(1, 0x6a1b2c3d, 0, 0, 148, true);
    wg(2, 0x11223344, 0x6a1b2c3d, 0, 92, false);
    wg(4, 0x11223344, 0, 0, 16 + 96 + 16, true);
    wg(4, 0x6a1b2c3d, 0, 0, 16 + 96 + 16, false);

    // Egress with natOutgoing: pod1:40500 -> 203.0.113.10:443 leaves as k8s-w1:61000.
    auto out_syn = pod_ip(kInternet, kPod1, 64, 0x5500) / segment(40500, 443, 7000, 0, TCP::SYN);
    put(cali, EthernetII(kCaliMac, kPod1Mac) / out_syn, clock.next(3000));
    auto snat = pod_ip(kInternet, kW1, 63, 0x5500) / segment(61000, 443, 7000, 0, TCP::SYN);
    put(ens5, EthernetII(kGwMac, kW1Mac) / snat, clock.next(15));
    auto synack =
        pod_ip(kW1, kInternet, 52, 0) / segment(443, 61000, 90000, 7001, TCP::SYN | TCP::ACK);
    put(ens5, EthernetII(kW1Mac, kGwMac) / synack, clock.next(8000));
    auto denat =
        pod_ip(kPod1, kInternet, 51, 0) / segment(443, 40500, 90000, 7001, TCP::SYN | TCP::ACK);
    put(cali, EthernetII(kPod1Mac, kCaliMac) / denat, clock.next(14));

    // MTU: a 9000-byte DF packet does not fit tunl0 (8981); the node answers frag-needed.
    auto big = pod_ip(kPod3, kPod1, 64, 0x6600) / segment(40600, 80, 5000, 1, TCP::ACK | TCP::PSH) /
               RawPDU(std::string(9000 - 40, 'M'));
    put(cali, EthernetII(kCaliMac, kPod1Mac) / big, clock.next(5000));
    auto quoted = big.serialize();
    quoted.resize(20 + 8);
    ICMP need(ICMP::DEST_UNREACHABLE);
    need.code(4);
    need.mtu(8981);
    IP from_node(kPod1, kW1);
    from_node.ttl(64);
    from_node.id(0x0e01);
    put(cali, EthernetII(kPod1Mac, kCaliMac) / from_node / need / RawPDU(quoted), clock.next(20));
    return 0;
}
