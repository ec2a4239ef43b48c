// podtrace_gen: writes a deterministic classic pcap of Calico-shaped traffic for the benchmark.
// Five kinds, round-robin: pod-to-pod TCP on a cali veth, the same in IPIP, in VXLAN,
// WireGuard transport data, SNATed egress TCP. Addresses are those of DESIGN.md.
// --nodes 3 --node I instead writes node I's ens5 view of one traffic stream among three nodes,
// so that the three files share every cross-node packet (for `podtrace report` over nodes).
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <queue>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Mac = std::array<std::uint8_t, 6>;
using Ip4 = std::array<std::uint8_t, 4>;

constexpr Mac kCaliMac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
// Pod eth0 MACs are random and locally administered, as Calico's CNI makes them.
constexpr Mac kPod1Mac{0x5a, 0x1c, 0x3e, 0x9f, 0x40, 0x01};
constexpr Mac kW1Nic{0x02, 0x4f, 0x8a, 0x10, 0x01, 0x65};
constexpr Mac kW2Nic{0x02, 0x4f, 0x8a, 0x10, 0x01, 0x66};
constexpr Mac kGatewayMac{0x02, 0x4f, 0x8a, 0x10, 0x01, 0x01};
constexpr Mac kW1Vtep{0x66, 0x2b, 0x91, 0x3c, 0x7d, 0x01};
constexpr Mac kW2Vtep{0x66, 0x2b, 0x91, 0x3c, 0x7d, 0x02};
constexpr Mac kW0Nic{0x02, 0x4f, 0x8a, 0x20, 0x01, 0x64};
constexpr Mac kW0Vtep{0x66, 0x2b, 0x91, 0x3c, 0x7d, 0x03};

constexpr Ip4 kPod1{172, 16, 158, 1};
constexpr Ip4 kPod2{172, 16, 158, 2};
constexpr Ip4 kPod3{172, 16, 184, 4};
constexpr Ip4 kW1{192, 168, 10, 101};
constexpr Ip4 kW2{192, 168, 10, 102};
constexpr Ip4 kW0{192, 168, 20, 100};
constexpr Ip4 kPod5{172, 16, 34, 5};
constexpr Ip4 kInternet{203, 0, 113, 10};

constexpr std::uint8_t kProtoIpip = 4;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint16_t kEthIpv4 = 0x0800;
constexpr std::uint16_t kVxlanPort = 4789;
constexpr std::uint32_t kVxlanVni = 4096;
constexpr std::uint16_t kWireguardPort = 51820;
constexpr std::uint16_t kTcpAck = 0x10, kTcpPsh = 0x08;
constexpr std::size_t kTcpHeaderLen = 32;  // 20 + NOP NOP timestamps, as Linux sends data
constexpr std::int64_t kEpochUs = 1'700'000'000'000'000;

// std::uniform_int_distribution is implementation-defined; this keeps the file identical
// across standard libraries for a given seed.
std::uint64_t uniform(std::mt19937_64& rng, std::uint64_t lo, std::uint64_t hi) {
    return lo + rng() % (hi - lo + 1);
}

class Packet {
public:
    void clear() { b_.clear(); }
    std::size_t size() const { return b_.size(); }
    std::span<const std::uint8_t> view() const { return b_; }

    void u8(std::uint8_t v) { b_.push_back(v); }
    void be16(std::uint16_t v) {
        u8(static_cast<std::uint8_t>(v >> 8));
        u8(static_cast<std::uint8_t>(v));
    }
    void be32(std::uint32_t v) {
        be16(static_cast<std::uint16_t>(v >> 16));
        be16(static_cast<std::uint16_t>(v));
    }
    void le32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void le64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void bytes(std::span<const std::uint8_t> s) { b_.insert(b_.end(), s.begin(), s.end()); }
    void random(std::mt19937_64& rng, std::size_t n) {
        for (std::size_t i = 0; i < n; i += 8) {
            std::uint64_t r = rng();
            for (std::size_t k = 0; k < 8 && i + k < n; ++k)
                u8(static_cast<std::uint8_t>(r >> (8 * k)));
        }
    }
    void set_be16(std::size_t at, std::uint16_t v) {
        b_[at] = static_cast<std::uint8_t>(v >> 8);
        b_[at + 1] = static_cast<std::uint8_t>(v);
    }
    std::uint16_t get_be16(std::size_t at) const {
        return static_cast<std::uint16_t>(b_[at] << 8 | b_[at + 1]);
    }

private:
    std::vector<std::uint8_t> b_;
};

void ethernet(Packet& p, const Mac& dst, const Mac& src) {
    p.bytes(dst);
    p.bytes(src);
    p.be16(kEthIpv4);
}

// Writes a 20-byte IPv4 header; ipv4_end fills in total length and checksum.
std::size_t ipv4_begin(Packet& p, const Ip4& src, const Ip4& dst, std::uint8_t proto,
                       std::uint8_t ttl, std::uint16_t id) {
    std::size_t at = p.size();
    p.u8(0x45);
    p.u8(0);
    p.be16(0);
    p.be16(id);
    p.be16(0x4000);  // DF: Linux sets it on TCP and, by PMTU discovery, on tunnel outers
    p.u8(ttl);
    p.u8(proto);
    p.be16(0);
    p.bytes(src);
    p.bytes(dst);
    return at;
}

void ipv4_end(Packet& p, std::size_t at) {
    p.set_be16(at + 2, static_cast<std::uint16_t>(p.size() - at));
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < 20; i += 2) sum += p.get_be16(at + i);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    p.set_be16(at + 10, static_cast<std::uint16_t>(~sum));
}

// UDP checksum 0 means "none" (what Linux VXLAN sends); the WireGuard one is left 0 too.
std::size_t udp_begin(Packet& p, std::uint16_t sport, std::uint16_t dport) {
    std::size_t at = p.size();
    p.be16(sport);
    p.be16(dport);
    p.be16(0);
    p.be16(0);
    return at;
}

void udp_end(Packet& p, std::size_t at) {
    p.set_be16(at + 4, static_cast<std::uint16_t>(p.size() - at));
}

struct TcpFlow {
    Ip4 src, dst;
    std::uint16_t sport, dport;
    std::uint32_t seq;  // next to send; the other direction acknowledges up to here
    std::uint16_t ip_id;
    std::uint32_t tsval;
};

TcpFlow make_flow(std::mt19937_64& rng, const Ip4& src, const Ip4& dst, std::uint16_t sport,
                  std::uint16_t dport) {
    return TcpFlow{
        .src = src,
        .dst = dst,
        .sport = sport,
        .dport = dport,
        .seq = static_cast<std::uint32_t>(rng()),
        .ip_id = static_cast<std::uint16_t>(rng()),
        .tsval = static_cast<std::uint32_t>(rng()),
    };
}

// IPv4 + TCP (ACK|PSH, timestamps) + a TLS record of random bytes. TCP checksum is left
// 0: captures with tx offload look the same, and no reader in the benchmark verifies it.
// `back` is the other direction of the connection: each segment acknowledges all it sent, as
// tshark's sequence analysis otherwise keeps every segment unacked and slows down quadratically.
void tcp_packet(Packet& p, TcpFlow& f, const TcpFlow& back, std::uint8_t ttl, std::size_t payload,
                std::mt19937_64& rng) {
    std::size_t ip = ipv4_begin(p, f.src, f.dst, kProtoTcp, ttl, f.ip_id++);
    p.be16(f.sport);
    p.be16(f.dport);
    p.be32(f.seq);
    p.be32(back.seq);
    p.be16(static_cast<std::uint16_t>((kTcpHeaderLen / 4) << 12 | kTcpAck | kTcpPsh));
    p.be16(502);
    p.be16(0);
    p.be16(0);
    p.u8(1);
    p.u8(1);
    p.u8(8);
    p.u8(10);
    p.be32(f.tsval++);
    p.be32(back.tsval - 1);
    // One whole TLS application-data record per segment, as mTLS/HTTPS traffic looks. Plain random
    // bytes make tshark read bogus PDU lengths on known ports and reassemble without end.
    p.u8(0x17);
    p.be16(0x0303);
    p.be16(static_cast<std::uint16_t>(payload - 5));
    p.random(rng, payload - 5);
    ipv4_end(p, ip);
    f.seq += static_cast<std::uint32_t>(payload);
}

// Linux picks the VXLAN source port from a hash of the inner flow, within the ephemeral range.
std::uint16_t flow_hash_port(const TcpFlow& f) {
    std::uint32_t h = 2166136261u;
    auto mix = [&h](std::uint32_t b) { h = (h ^ b) * 16777619u; };
    for (auto b : f.src) mix(b);
    for (auto b : f.dst) mix(b);
    mix(f.sport >> 8);
    mix(f.sport & 0xff);
    mix(f.dport >> 8);
    mix(f.dport & 0xff);
    mix(kProtoTcp);
    return static_cast<std::uint16_t>(32768 + h % (61000 - 32768));
}

struct Tunnel {
    const Ip4* src;
    const Ip4* dst;
    const Mac* src_mac;
    const Mac* dst_mac;
    std::uint16_t ip_id;
};

struct WgPeer {
    const Ip4* src;
    const Ip4* dst;
    const Mac* src_mac;
    const Mac* dst_mac;
    std::uint32_t receiver;
    std::uint64_t counter;
    std::uint16_t ip_id;
};

class Generator {
public:
    explicit Generator(std::uint64_t seed) : rng_(seed) {
        // Two connections from pod1 and their replies per kind; on the cali veth one is
        // same-node. Client ports differ per kind so each kind's flows are their own streams.
        for (int i = 0; i < 2; ++i) {
            auto sport = static_cast<std::uint16_t>(i == 0 ? 8443 : 9443);
            const Ip4& cali_peer = i == 0 ? kPod3 : kPod2;
            auto port = [this] { return static_cast<std::uint16_t>(uniform(rng_, 32768, 60999)); };
            std::uint16_t cport = port();
            cali_.push_back(make_flow(rng_, kPod1, cali_peer, cport, sport));
            cali_.push_back(make_flow(rng_, cali_peer, kPod1, sport, cport));
            for (auto* set : {&ipip_, &vxlan_, &wg_}) {
                cport = port();
                set->push_back(make_flow(rng_, kPod1, kPod3, cport, sport));
                set->push_back(make_flow(rng_, kPod3, kPod1, sport, cport));
            }
        }
        // Pods going out to the internet and the replies, seen on ens5 after MASQUERADE rewrote
        // the source address and port.
        for (int i = 0; i < 2; ++i) {
            auto nat_port = static_cast<std::uint16_t>(uniform(rng_, 1024, 65535));
            egress_.push_back(make_flow(rng_, kW1, kInternet, nat_port, 443));
            egress_.push_back(make_flow(rng_, kInternet, kW1, 443, nat_port));
        }
        tunnels_[0] = {&kW1, &kW2, &kW1Nic, &kW2Nic, static_cast<std::uint16_t>(rng_())};
        tunnels_[1] = {&kW2, &kW1, &kW2Nic, &kW1Nic, static_cast<std::uint16_t>(rng_())};
        for (std::size_t i = 0; i < 2; ++i)
            peers_[i] = WgPeer{.src = i == 0 ? &kW1 : &kW2,
                               .dst = i == 0 ? &kW2 : &kW1,
                               .src_mac = i == 0 ? &kW1Nic : &kW2Nic,
                               .dst_mac = i == 0 ? &kW2Nic : &kW1Nic,
                               .receiver = static_cast<std::uint32_t>(rng_()),
                               .counter = 0,
                               .ip_id = static_cast<std::uint16_t>(rng_())};
    }

    // Builds packet number i into p.
    void build(std::uint64_t i, Packet& p) {
        p.clear();
        std::size_t payload = uniform(rng_, 64, 1000);
        std::size_t which = uniform(rng_, 0, 3);
        switch (i % 5) {
            case 0: cali(p, which, payload); break;
            case 1: ipip(p, which, payload); break;
            case 2: vxlan(p, which, payload); break;
            case 3: wireguard(p, which, payload); break;
            default: egress(p, which, payload); break;
        }
    }

private:
    // On pod1's cali veth: from the pod the dst MAC is ee:..., to the pod the src MAC is.
    void cali(Packet& p, std::size_t which, std::size_t payload) {
        TcpFlow& f = cali_[which];
        bool from_pod = f.src == kPod1;
        if (from_pod)
            ethernet(p, kCaliMac, kPod1Mac);
        else
            ethernet(p, kPod1Mac, kCaliMac);
        // One routing hop from pod2 (same node), two from pod3 (its node, then ours).
        std::uint8_t ttl = from_pod ? 64 : f.src == kPod2 ? 63 : 62;
        tcp_packet(p, f, cali_[which ^ 1], ttl, payload, rng_);
    }

    Tunnel& tunnel_for(const TcpFlow& f) { return tunnels_[f.src == kPod1 ? 0 : 1]; }

    void ipip(Packet& p, std::size_t which, std::size_t payload) {
        TcpFlow& f = ipip_[which];
        Tunnel& t = tunnel_for(f);
        ethernet(p, *t.dst_mac, *t.src_mac);
        std::size_t outer = ipv4_begin(p, *t.src, *t.dst, kProtoIpip, 64, t.ip_id++);
        tcp_packet(p, f, ipip_[which ^ 1], 63, payload, rng_);
        ipv4_end(p, outer);
    }

    void vxlan(Packet& p, std::size_t which, std::size_t payload) {
        TcpFlow& f = vxlan_[which];
        Tunnel& t = tunnel_for(f);
        ethernet(p, *t.dst_mac, *t.src_mac);
        std::size_t outer = ipv4_begin(p, *t.src, *t.dst, kProtoUdp, 64, t.ip_id++);
        std::size_t udp = udp_begin(p, flow_hash_port(f), kVxlanPort);
        p.u8(0x08);  // I flag: VNI valid
        p.u8(0);
        p.be16(0);
        p.be32(kVxlanVni << 8);
        bool from_w1 = f.src == kPod1;
        ethernet(p, from_w1 ? kW2Vtep : kW1Vtep, from_w1 ? kW1Vtep : kW2Vtep);
        tcp_packet(p, f, vxlan_[which ^ 1], 63, payload, rng_);
        udp_end(p, udp);
        ipv4_end(p, outer);
    }

    // Transport data: the inner packet is only there as its padded ciphertext plus the tag.
    void wireguard(Packet& p, std::size_t which, std::size_t payload) {
        TcpFlow& f = wg_[which];
        WgPeer& peer = peers_[f.src == kPod1 ? 0 : 1];
        std::size_t inner_len = 20 + kTcpHeaderLen + payload;
        std::size_t cipher_len = (inner_len + 15) / 16 * 16 + 16;
        f.seq += static_cast<std::uint32_t>(payload);
        ++f.ip_id;
        ++f.tsval;
        ethernet(p, *peer.dst_mac, *peer.src_mac);
        std::size_t outer = ipv4_begin(p, *peer.src, *peer.dst, kProtoUdp, 64, peer.ip_id++);
        std::size_t udp = udp_begin(p, kWireguardPort, kWireguardPort);
        p.u8(4);
        p.u8(0);
        p.be16(0);
        p.le32(peer.receiver);
        p.le64(peer.counter++);
        p.random(rng_, cipher_len);
        udp_end(p, udp);
        ipv4_end(p, outer);
    }

    void egress(Packet& p, std::size_t which, std::size_t payload) {
        TcpFlow& f = egress_[which];
        bool out = f.src == kW1;
        if (out)
            ethernet(p, kGatewayMac, kW1Nic);
        else
            ethernet(p, kW1Nic, kGatewayMac);
        tcp_packet(p, f, egress_[which ^ 1], out ? 63 : 52, payload, rng_);
    }

    std::mt19937_64 rng_;
    std::vector<TcpFlow> cali_, ipip_, vxlan_, wg_, egress_;
    std::array<Tunnel, 2> tunnels_{};
    std::array<WgPeer, 2> peers_{};
};

// Node-view mode: nodes are k8s-w1, k8s-w2, k8s-w0 (index 0, 1, 2), each with one pod. Each
// node's clock is off by `offset_us` from node 0's, as unsynchronised captures are.
struct Node {
    Ip4 ip, pod;
    Mac nic, vtep;
    std::int64_t offset_us;
};
constexpr std::array<Node, 3> kNodes{{
    {kW1, kPod1, kW1Nic, kW1Vtep, 0},
    {kW2, kPod3, kW2Nic, kW2Vtep, 2'000'000},
    {kW0, kPod5, kW0Nic, kW0Vtep, -1'500'000},
}};
constexpr std::array<std::array<std::size_t, 2>, 3> kPairs{{{0, 1}, {1, 2}, {2, 0}}};

// Who sees one cluster packet on ens5: `from` sends it, `to` receives it `transit_us` later
// (to == from: egress, seen only where it leaves or arrives).
struct Seen {
    std::size_t from, to;
    std::int64_t transit_us;
};

// One stream of cluster traffic, round-robin: IPIP, VXLAN, WireGuard between each pair of
// nodes (both directions, at random), and SNATed egress from each node. Every packet is built
// whichever node is written, so the three files come from the same PRNG stream.
class ClusterGenerator {
public:
    explicit ClusterGenerator(std::uint64_t seed) : rng_(seed) {
        for (auto& kind : flows_) {
            for (std::size_t pair = 0; pair < kPairs.size(); ++pair) {
                const Ip4& a = kNodes[kPairs[pair][0]].pod;
                const Ip4& b = kNodes[kPairs[pair][1]].pod;
                auto cport = static_cast<std::uint16_t>(uniform(rng_, 32768, 60999));
                kind[pair][0] = make_flow(rng_, a, b, cport, 8443);
                kind[pair][1] = make_flow(rng_, b, a, 8443, cport);
            }
        }
        for (std::size_t n = 0; n < kNodes.size(); ++n) {
            auto nat_port = static_cast<std::uint16_t>(uniform(rng_, 1024, 65535));
            egress_[n][0] = make_flow(rng_, kNodes[n].ip, kInternet, nat_port, 443);
            egress_[n][1] = make_flow(rng_, kInternet, kNodes[n].ip, 443, nat_port);
        }
        for (auto& row : links_) {
            for (auto& l : row) {
                l.ip_id = static_cast<std::uint16_t>(rng_());
                l.wg_receiver = static_cast<std::uint32_t>(rng_());
            }
        }
    }

    // Builds cluster packet number e into p, as an Ethernet frame.
    Seen build(std::uint64_t e, Packet& p) {
        p.clear();
        std::size_t payload = uniform(rng_, 64, 1000);
        std::size_t dir = uniform(rng_, 0, 1);
        auto transit = static_cast<std::int64_t>(uniform(rng_, 140, 160));
        std::size_t kind = e % 4;
        std::size_t pair = e / 4 % kPairs.size();
        if (kind == 3) {
            egress(p, pair, dir, payload);
            return {pair, pair, 0};
        }
        std::size_t from = kPairs[pair][dir], to = kPairs[pair][dir ^ 1];
        TcpFlow& f = flows_[kind][pair][dir];
        const TcpFlow& back = flows_[kind][pair][dir ^ 1];
        Link& link = links_[from][to];
        // Frames are the same at both ends: the fingerprint ignores L2 and TTL, and a router
        // between subnets (k8s-w0) would only change those.
        ethernet(p, kNodes[to].nic, kNodes[from].nic);
        std::size_t outer = ipv4_begin(p, kNodes[from].ip, kNodes[to].ip,
                                       kind == 0 ? kProtoIpip : kProtoUdp, 64, link.ip_id++);
        if (kind == 0) {
            tcp_packet(p, f, back, 63, payload, rng_);
        } else if (kind == 1) {
            std::size_t udp = udp_begin(p, flow_hash_port(f), kVxlanPort);
            p.u8(0x08);  // I flag: VNI valid
            p.u8(0);
            p.be16(0);
            p.be32(kVxlanVni << 8);
            ethernet(p, kNodes[to].vtep, kNodes[from].vtep);
            tcp_packet(p, f, back, 63, payload, rng_);
            udp_end(p, udp);
        } else {
            std::size_t inner_len = 20 + kTcpHeaderLen + payload;
            f.seq += static_cast<std::uint32_t>(payload);
            ++f.ip_id;
            ++f.tsval;
            std::size_t udp = udp_begin(p, kWireguardPort, kWireguardPort);
            p.u8(4);
            p.u8(0);
            p.be16(0);
            p.le32(link.wg_receiver);
            p.le64(link.wg_counter++);
            p.random(rng_, (inner_len + 15) / 16 * 16 + 16);
            udp_end(p, udp);
        }
        ipv4_end(p, outer);
        return {from, to, transit};
    }

private:
    struct Link {
        std::uint16_t ip_id = 0;
        std::uint32_t wg_receiver = 0;
        std::uint64_t wg_counter = 0;
    };

    void egress(Packet& p, std::size_t node, std::size_t dir, std::size_t payload) {
        bool out = dir == 0;
        if (out)
            ethernet(p, kGatewayMac, kNodes[node].nic);
        else
            ethernet(p, kNodes[node].nic, kGatewayMac);
        tcp_packet(p, egress_[node][dir], egress_[node][dir ^ 1], out ? 63 : 52, payload, rng_);
    }

    std::mt19937_64 rng_;
    // [IPIP, VXLAN, WireGuard][pair][0: pod of the pair's first node to the second's, 1: reply]
    std::array<std::array<std::array<TcpFlow, 2>, kPairs.size()>, 3> flows_{};
    std::array<std::array<TcpFlow, 2>, kNodes.size()> egress_{};
    std::array<std::array<Link, kNodes.size()>, kNodes.size()> links_{};
};

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

// Classic pcap, little-endian, µs. Buffered by hand so each record is one memcpy.
class PcapWriter {
public:
    // "-": standard output, to pipe a capture bigger than the disk into the reader.
    PcapWriter(const std::string& path, std::uint32_t linktype)
        : file_(std::fopen(path == "-" ? "/dev/stdout" : path.c_str(), "wb")) {
        if (!file_) throw std::runtime_error(path + ": cannot open for writing");
        path_ = path;
        buf_.reserve(kFlushAt + 65536 + 16);
        le32(0xa1b2c3d4);
        le16(2);
        le16(4);
        le32(0);  // thiszone
        le32(0);  // sigfigs
        le32(kSnaplen);
        le32(linktype);
    }

    void write(std::int64_t ts_us, std::span<const std::uint8_t> frame) {
        le32(static_cast<std::uint32_t>(ts_us / 1'000'000));
        le32(static_cast<std::uint32_t>(ts_us % 1'000'000));
        le32(static_cast<std::uint32_t>(frame.size()));
        le32(static_cast<std::uint32_t>(frame.size()));
        buf_.insert(buf_.end(), frame.begin(), frame.end());
        if (buf_.size() >= kFlushAt) flush();
    }

    // Flushes and closes; throws if any write failed (a full disk must not pass silently).
    void finish() {
        flush();
        std::FILE* f = file_.release();
        if (std::fclose(f) != 0) throw std::runtime_error(path_ + ": write failed");
    }

private:
    static constexpr std::uint32_t kSnaplen = 65535;
    static constexpr std::size_t kFlushAt = 1 << 20;

    void le16(std::uint16_t v) {
        buf_.push_back(static_cast<std::uint8_t>(v));
        buf_.push_back(static_cast<std::uint8_t>(v >> 8));
    }
    void le32(std::uint32_t v) {
        le16(static_cast<std::uint16_t>(v));
        le16(static_cast<std::uint16_t>(v >> 16));
    }
    void flush() {
        if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), file_.get()) != buf_.size())
            throw std::runtime_error(path_ + ": write failed");
        buf_.clear();
    }

    std::unique_ptr<std::FILE, FileCloser> file_;
    std::string path_;
    std::vector<std::uint8_t> buf_;
};

int usage(const char* msg) {
    if (msg) std::fprintf(stderr, "podtrace_gen: %s\n", msg);
    std::fprintf(stderr,
                 "usage: podtrace_gen OUT.pcap|- [--packets N=1000000] [--seed S=1]\n"
                 "                    [--nodes 3 --node I]  (node I's ens5 view, N packets)\n");
    return 2;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
}

// A NIC capture that says which way each frame went (as `tcpdump -i any` writes it): the clock
// estimate needs to know which node sent a packet and which received it.
constexpr std::uint32_t kLinktypeEthernet = 1, kLinktypeSll = 113;
std::vector<std::uint8_t> to_sll(std::span<const std::uint8_t> eth, bool outgoing) {
    Packet h;
    h.be16(outgoing ? 4 : 0);  // PACKET_OUTGOING, PACKET_HOST
    h.be16(1);                 // ARPHRD_ETHER
    h.be16(6);
    h.bytes(eth.subspan(6, 6));  // the source MAC, padded to 8
    h.be16(0);
    h.bytes(eth.subspan(12));  // ethertype and on
    auto v = h.view();
    return {v.begin(), v.end()};
}

// Node I's view of the cluster stream, `packets` frames in its own time order. Cluster packets
// are 1 us apart; a received one is held until the sends it lags behind are written.
void write_node_view(std::uint64_t seed, std::size_t node, std::uint64_t packets,
                     PcapWriter& writer) {
    struct Pending {
        std::int64_t ts_us;
        std::uint64_t seq;  // ties keep the order of the stream
        std::vector<std::uint8_t> frame;
    };
    auto later = [](const Pending& a, const Pending& b) {
        return a.ts_us != b.ts_us ? a.ts_us > b.ts_us : a.seq > b.seq;
    };
    std::priority_queue<Pending, std::vector<Pending>, decltype(later)> pending(later);
    ClusterGenerator gen(seed);
    Packet p;
    std::uint64_t queued = 0;
    for (std::uint64_t e = 0; queued < packets; ++e) {
        Seen seen = gen.build(e, p);
        std::int64_t now = kEpochUs + static_cast<std::int64_t>(e) + kNodes[node].offset_us;
        // Nothing queued later can be earlier than this node's clock now.
        for (; !pending.empty() && pending.top().ts_us <= now; pending.pop())
            writer.write(pending.top().ts_us, pending.top().frame);
        if (seen.from != node && seen.to != node) continue;
        bool sent = seen.from == node;
        pending.push({sent ? now : now + seen.transit_us, queued++, to_sll(p.view(), sent)});
    }
    for (; !pending.empty(); pending.pop()) writer.write(pending.top().ts_us, pending.top().frame);
}

}  // namespace

int main(int argc, char** argv) {
    std::string out;
    std::uint64_t packets = 1'000'000;
    std::uint64_t seed = 1;
    std::uint64_t nodes = 0, node = 0;
    bool node_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") return usage(nullptr), 0;
        if (a == "--packets" || a == "--seed" || a == "--nodes" || a == "--node") {
            if (i + 1 >= argc) return usage("missing value after an option");
            std::uint64_t& v = a == "--packets" ? packets
                               : a == "--seed"  ? seed
                               : a == "--nodes" ? nodes
                                                : node;
            node_given |= a == "--node";
            if (!parse_u64(argv[++i], v)) return usage("options take a non-negative integer");
        } else if (a.starts_with("-") && a != "-") {
            return usage("unknown option");
        } else if (out.empty()) {
            out = a;
        } else {
            return usage("only one output file");
        }
    }
    if (out.empty()) return usage("missing OUT.pcap");
    if (nodes != 0 && nodes != kNodes.size()) return usage("--nodes: only 3 is supported");
    if (node_given && nodes == 0) return usage("--node needs --nodes 3");
    if (nodes != 0 && node >= nodes) return usage("--node must be 0, 1 or 2");

    try {
        PcapWriter writer(out, nodes != 0 ? kLinktypeSll : kLinktypeEthernet);
        if (nodes != 0) {
            write_node_view(seed, node, packets, writer);
        } else {
            Generator gen(seed);
            Packet p;
            for (std::uint64_t i = 0; i < packets; ++i) {
                gen.build(i, p);
                writer.write(kEpochUs + static_cast<std::int64_t>(i), p.view());
            }
        }
        writer.finish();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "podtrace_gen: %s\n", e.what());
        return 1;
    }
    // Not on stdout when the capture goes there.
    bool to_stdout = out == "-" || out == "/dev/stdout";
    std::fprintf(to_stdout ? stderr : stdout,
                 "podtrace_gen: wrote %llu packets to %s (seed %llu)\n",
                 static_cast<unsigned long long>(packets), out.c_str(),
                 static_cast<unsigned long long>(seed));
    return 0;
}
