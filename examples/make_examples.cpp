// Writes the bundled example captures: what the seed study's cluster (../shared/DESIGN.md) shows at
// every capture point, one directory per Calico mode, plus a pcapng set with faults. Crafted with
// libtins until `podtrace lab record` can record them from a running lab; deterministic (fixed
// times, IDs and bytes) so the golden tests can rely on them.
//
// Times are true time; each node's files carry its own clock: k8s-w2 runs 2 s ahead of k8s-w1 and
// k8s-w0 1.5 s behind, which the report has to estimate from traffic both ways.
#include <tins/tins.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/frame.hpp"
#include "probes/pcapng_writer.hpp"

using namespace Tins;
namespace linktype = podtrace::core::linktype;
using nlohmann::json;

namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr std::int64_t kUs = 1'000;
constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kStart = 1'798'000'000 * kSec;  // 2026-12-23 04:26:40 UTC
constexpr std::uint32_t kSnaplen = 262144;

// Hop delays: routing into a tunnel device, the tunnel to the NIC, the wire between nodes,
// decapsulated to the pod's veth, and a pod answering.
constexpr std::int64_t kToTunnel = 10 * kUs;
constexpr std::int64_t kToNic = 5 * kUs;
constexpr std::int64_t kWire = 150 * kUs;
constexpr std::int64_t kToPod = 9 * kUs;
constexpr std::int64_t kTurnaround = 30 * kUs;

template <typename P>
Bytes ser(P pdu) {
    return pdu.serialize();
}

struct PcapngTag {};

// One output file; frames are collected and written in time order by write().
class Output {
public:
    // Classic pcap with microsecond timestamps: one NODE_IFACE.pcap capture point.
    Output(std::string path, std::uint32_t linktype) : path_(std::move(path)) {
        links_.push_back(linktype);
    }
    // pcapng as `podtrace capture` writes it: the node's section, nanosecond timestamps.
    Output(std::string path, PcapngTag, const podtrace::probes::SectionInfo& section)
        : path_(std::move(path)), section_(section) {}

    std::uint32_t add_interface(const std::string& name, std::uint32_t linktype) {
        names_.push_back(name);
        links_.push_back(linktype);
        return static_cast<std::uint32_t>(links_.size() - 1);
    }
    void add(std::uint32_t if_id, std::int64_t ts_ns, Bytes frame) {
        frames_.push_back({ts_ns, if_id, std::move(frame)});
    }
    void write() {
        std::ranges::stable_sort(frames_, {}, &Record::ts_ns);
        section_ ? write_pcapng() : write_pcap();
    }

private:
    struct Record {
        std::int64_t ts_ns;
        std::uint32_t if_id;
        Bytes bytes;
    };

    void write_pcap() {
        std::FILE* f = std::fopen(path_.c_str(), "wb");
        if (!f) throw std::runtime_error(path_ + ": cannot create");
        auto u32 = [&](std::uint32_t v) { std::fwrite(&v, 4, 1, f); };
        u32(0xa1b2c3d4);  // microsecond timestamps, host byte order
        u32(2 | (4u << 16));
        u32(0);
        u32(0);
        u32(kSnaplen);
        u32(links_.front());
        for (const Record& r : frames_) {
            u32(static_cast<std::uint32_t>(r.ts_ns / kSec));
            u32(static_cast<std::uint32_t>(r.ts_ns % kSec / kUs));
            u32(static_cast<std::uint32_t>(r.bytes.size()));
            u32(static_cast<std::uint32_t>(r.bytes.size()));
            std::fwrite(r.bytes.data(), 1, r.bytes.size(), f);
        }
        const bool failed = std::ferror(f) != 0;
        if ((std::fclose(f) != 0) || failed) throw std::runtime_error(path_ + ": write failed");
    }

    void write_pcapng() {
        auto w = podtrace::probes::PcapngWriter::open(path_, *section_);
        if (!w) throw std::runtime_error(w.error().message);
        for (std::size_t i = 0; i < links_.size(); ++i)
            w->add_interface(names_[i], links_[i], kSnaplen);
        for (const Record& r : frames_) {
            podtrace::core::Frame fr;
            fr.ts_ns = r.ts_ns;
            fr.linktype = links_[r.if_id];
            fr.wirelen = static_cast<std::uint32_t>(r.bytes.size());
            fr.ts_digits = 9;
            fr.bytes = r.bytes;
            if (auto ok = w->write(r.if_id, fr); !ok) throw std::runtime_error(ok.error().message);
        }
        if (auto ok = w->close(); !ok) throw std::runtime_error(ok.error().message);
    }

    std::string path_;
    std::optional<podtrace::probes::SectionInfo> section_;
    std::vector<std::string> names_;
    std::vector<std::uint32_t> links_;
    std::vector<Record> frames_;
};

struct Node {
    std::string name;
    IPv4Address ip;
    HWAddress<6> mac, gw_mac, vtep_mac;
    std::int64_t clock_ns;                                 // this node's clock minus true time
    std::uint32_t wg_index;                                // its WireGuard session's receiver index
    std::uint16_t next_outer_id;                           // IP ID of its next tunnel packet
    std::map<const Node*, std::uint64_t> wg_counter = {};  // per peer: next transport data counter

    bool same_subnet(const Node& o) const {
        const IPv4Address mask("255.255.255.0");
        return (ip & mask) == (o.ip & mask);
    }
};

struct Pod {
    Node* node;
    std::string veth;  // "cali" + sha1("<ns>.<pod>")[:11]
    IPv4Address ip;
    HWAddress<6> mac;
    std::uint16_t next_id;
};

const HWAddress<6> kCaliMac("ee:ee:ee:ee:ee:ee");
const IPv4Address kGateway("169.254.1.1");
const IPv4Address kClusterIp("10.200.1.10");

// The reference cluster, fresh for each set so every set starts from the same IDs and counters.
struct Cluster {
    Node w1{.name = "k8s-w1",
            .ip = IPv4Address("192.168.10.101"),
            .mac = HWAddress<6>("02:00:c0:a8:0a:65"),
            .gw_mac = HWAddress<6>("02:00:c0:a8:0a:01"),
            .vtep_mac = HWAddress<6>("66:d1:9e:00:00:01"),
            .clock_ns = 0,
            .wg_index = 0x6a1b2c3d,
            .next_outer_id = 0x9001};
    Node w2{.name = "k8s-w2",
            .ip = IPv4Address("192.168.10.102"),
            .mac = HWAddress<6>("02:00:c0:a8:0a:66"),
            .gw_mac = HWAddress<6>("02:00:c0:a8:0a:01"),
            .vtep_mac = HWAddress<6>("66:d1:b8:00:00:02"),
            .clock_ns = 2 * kSec,
            .wg_index = 0x11223344,
            .next_outer_id = 0xa001};
    Node w0{.name = "k8s-w0",
            .ip = IPv4Address("192.168.20.100"),
            .mac = HWAddress<6>("02:00:c0:a8:14:64"),
            .gw_mac = HWAddress<6>("02:00:c0:a8:14:01"),
            .vtep_mac = HWAddress<6>("66:d1:22:00:00:03"),
            .clock_ns = -1'500 * kMs,
            .wg_index = 0x5e6f7081,
            .next_outer_id = 0xb001};
    Pod pod1{&w1, "calice0906292e2", IPv4Address("172.16.158.1"), HWAddress<6>("4e:5a:1c:9e:00:01"),
             0x3e81};
    Pod pod2{&w1, "calibd2348b4f67", IPv4Address("172.16.158.2"), HWAddress<6>("4e:5a:1c:9e:00:02"),
             0x4f11};
    Pod pod3{&w2, "cali49778cadcf1", IPv4Address("172.16.184.4"), HWAddress<6>("8a:3b:7f:b8:00:04"),
             0x7101};
    Pod pod4{&w0, "cali3a3e66463d6", IPv4Address("172.16.34.5"), HWAddress<6>("d6:20:41:22:00:05"),
             0x2201};
};

struct Point {
    Output* out;
    std::uint32_t if_id;
    std::int64_t clock_ns;
};

// A packet as seen at one capture point, `delay` after the previous hop.
struct Hop {
    const Point* at;
    std::int64_t delay;
    Bytes frame;
};

// The capture points of one set and the frames written to them.
class Scenario {
public:
    void pcap(const std::string& dir, const Node& node, const std::string& iface,
              std::uint32_t linktype) {
        outs_.push_back(
            std::make_unique<Output>(dir + "/" + node.name + "_" + iface + ".pcap", linktype));
        points_[node.name + "/" + iface] = {outs_.back().get(), 0, node.clock_ns};
    }
    void pcapng(const std::string& path, const Node& node, const std::string& facts,
                const std::vector<std::pair<std::string, std::uint32_t>>& ifaces) {
        outs_.push_back(std::make_unique<Output>(
            path, PcapngTag{},
            podtrace::probes::SectionInfo{"podtrace-examples", node.name, facts, "Linux"}));
        for (const auto& [name, lt] : ifaces)
            points_[node.name + "/" + name] = {
                outs_.back().get(), outs_.back()->add_interface(name, lt), node.clock_ns};
    }
    const Point* at(const Node& node, const std::string& iface) const {
        auto it = points_.find(node.name + "/" + iface);
        if (it == points_.end())
            throw std::logic_error("no capture point " + node.name + "/" + iface + " in this set");
        return &it->second;
    }
    // Writes the hops starting at true time `t`; returns the time of the last one.
    std::int64_t emit(std::int64_t t, const std::vector<Hop>& hops) {
        for (const Hop& h : hops) {
            t += h.delay;
            h.at->out->add(h.at->if_id, t + h.at->clock_ns, h.frame);
        }
        return t;
    }
    void write() {
        for (auto& o : outs_) o->write();
    }

private:
    std::vector<std::unique_ptr<Output>> outs_;
    std::map<std::string, Point> points_;
};

// --- packets -------------------------------------------------------------------------------

IP ip4(IPv4Address src, IPv4Address dst, std::uint16_t id) {
    IP ip(dst, src);
    ip.ttl(64);
    ip.id(id);
    ip.flags(IP::DONT_FRAGMENT);
    return ip;
}

IP with_ttl(IP ip, std::uint8_t ttl) {
    ip.ttl(ttl);
    return ip;
}

Bytes pattern(std::size_t n, std::uint32_t seed) {
    Bytes b(n);
    seed ^= 0x9e3779b9;  // xorshift never leaves 0
    for (auto& x : b) {  // fixed bytes, but not a run of one byte
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        x = static_cast<std::uint8_t>(seed);
    }
    return b;
}

IP echo(Pod& from, IPv4Address to, ICMP::Flags type, std::uint16_t seq) {
    ICMP icmp(type);
    icmp.id(7);
    icmp.sequence(seq);
    Bytes data(56);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i + seq);
    return ip4(from.ip, to, from.next_id++) / icmp / RawPDU(data);
}

// Rewrites as NAT does, checksums recomputed on serialising.
IP nat_src(IP ip, IPv4Address addr, std::uint16_t port) {
    ip.src_addr(addr);
    ip.rfind_pdu<TCP>().sport(port);
    return ip;
}
IP nat_dst(IP ip, IPv4Address addr, std::uint16_t port) {
    ip.dst_addr(addr);
    ip.rfind_pdu<TCP>().dport(port);
    return ip;
}

struct TcpEnds {
    IPv4Address client;
    std::uint16_t cport;
    IPv4Address server;
    std::uint16_t sport;
    std::uint32_t cseq, sseq;  // initial sequence numbers
    std::uint16_t cid, sid;    // first IP IDs
};

// One TCP connection as its endpoints send it; keeps sequence numbers and IP IDs.
class Tcp {
public:
    explicit Tcp(TcpEnds e) : e_(e), cnxt_(e.cseq), snxt_(e.sseq) {}
    IP client(std::uint16_t flags, std::size_t len = 0) {
        return make(e_.client, e_.cport, e_.server, e_.sport, cnxt_, snxt_, e_.cid, flags, len);
    }
    IP server(std::uint16_t flags, std::size_t len = 0) {
        // Linux sends ID 0 on a SYN-ACK.
        std::uint16_t zero = 0;
        return make(e_.server, e_.sport, e_.client, e_.cport, snxt_, cnxt_,
                    flags & TCP::SYN ? zero : e_.sid, flags, len);
    }

private:
    static IP make(IPv4Address src, std::uint16_t sport, IPv4Address dst, std::uint16_t dport,
                   std::uint32_t& seq, std::uint32_t ack, std::uint16_t& id, std::uint16_t flags,
                   std::size_t len) {
        TCP t(dport, sport);
        t.seq(seq);
        t.ack_seq(flags & TCP::ACK ? ack : 0);
        t.flags(flags);
        t.window(flags & TCP::SYN ? 64240 : 502);
        IP ip = ip4(src, dst, id++) / t;
        if (len) ip /= RawPDU(pattern(len, seq));
        seq += static_cast<std::uint32_t>(len) + (flags & (TCP::SYN | TCP::FIN) ? 1 : 0);
        return ip;
    }
    TcpEnds e_;
    std::uint32_t cnxt_, snxt_;
};

// One packet as the sender's veth, the network between and the receiver's veth see it: they differ
// where NAT rewrote it (a Service's DNAT before routing, its reverse after).
struct Views {
    IP sent, routed, delivered;
};
Views plain(const IP& p) {
    return {p, p, p};
}

RawPDU vxlan(std::uint32_t vni, const EthernetII& inner) {
    const Bytes b = ser(inner);
    Bytes v(8);
    v[0] = 0x08;  // I flag: the VNI is valid
    v[4] = static_cast<std::uint8_t>(vni >> 16);
    v[5] = static_cast<std::uint8_t>(vni >> 8);
    v[6] = static_cast<std::uint8_t>(vni);
    v.insert(v.end(), b.begin(), b.end());
    return RawPDU(v);
}

void put_le(Bytes& b, std::size_t at, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// The source port Linux's VXLAN picks from the inner flow: stable per flow, 32768-60999.
std::uint16_t flow_port(const IP& inner) {
    std::uint32_t h = 2166136261u;
    auto mix = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) h = (h ^ ((v >> (8 * i)) & 0xff)) * 16777619u;
    };
    mix(static_cast<std::uint32_t>(inner.src_addr()));
    mix(static_cast<std::uint32_t>(inner.dst_addr()));
    mix(inner.protocol());
    if (const TCP* t = inner.find_pdu<TCP>()) mix(t->sport() << 16 | t->dport());
    return static_cast<std::uint16_t>(32768 + h % (61000 - 32768));
}

// --- where a packet goes in each Calico mode -------------------------------------------------

enum class Mode { ipip, vxlan, wireguard, direct };

class Dataplane {
public:
    explicit Dataplane(Scenario& s) : s_(s) {}

    // pod -> pod on one node: the sender's veth, then the receiver's after one routing hop.
    std::vector<Hop> same_node(const Pod& src, const Pod& dst, const Views& v) const {
        return {{veth(src), 0, from_pod(src, v.sent)},
                {veth(dst), 8 * kUs, to_pod(dst, with_ttl(v.delivered, 63))}};
    }

    // pod -> pod across nodes: the sender's veth, its tunnel device (unless direct) and NIC, the
    // receiver's NIC, tunnel device and veth.
    std::vector<Hop> cross(Mode m, const Pod& src, const Pod& dst, const Views& v) {
        Node& a = *src.node;
        Node& b = *dst.node;
        const IP inner = with_ttl(v.routed, 63);
        std::vector<Hop> h{{veth(src), 0, from_pod(src, v.sent)}};
        auto over_wire = [&](const std::string& tunnel, Bytes at_tunnel, const PDU& payload) {
            h.push_back({s_.at(a, tunnel), kToTunnel, at_tunnel});
            h.push_back({s_.at(a, "ens5"), kToNic, nic(a, b, payload, false)});
            h.push_back({s_.at(b, "ens5"), kWire, nic(a, b, payload, true)});
            h.push_back({s_.at(b, tunnel), 0, std::move(at_tunnel)});  // the NIC's timestamp
        };
        switch (m) {
            case Mode::direct:
                h.push_back({s_.at(a, "ens5"), kToTunnel + kToNic, nic(a, b, inner, false)});
                h.push_back({s_.at(b, "ens5"), kWire, nic(a, b, inner, true)});
                break;
            case Mode::ipip: over_wire("tunl0", ser(inner), outer(a, b, inner) / inner); break;
            case Mode::vxlan: {
                const auto frame = EthernetII(b.vtep_mac, a.vtep_mac) / inner;
                over_wire("vxlan.calico", ser(frame),
                          outer(a, b) / UDP(4789, flow_port(inner)) / vxlan(4096, frame));
                break;
            }
            case Mode::wireguard:
                over_wire("wireguard.cali", ser(inner),
                          outer(a, b) / UDP(51820, 51820) / RawPDU(transport(a, b, inner)));
                break;
        }
        h.push_back({veth(dst), kToPod, to_pod(dst, with_ttl(v.delivered, 62))});
        return h;
    }

    // pod -> internet: the pod's veth, then the NIC towards the default gateway.
    std::vector<Hop> egress(const Pod& src, const IP& sent, const IP& on_wire) const {
        const Node& n = *src.node;
        return {
            {veth(src), 0, from_pod(src, sent)},
            {s_.at(n, "ens5"), 15 * kUs, ser(EthernetII(n.gw_mac, n.mac) / with_ttl(on_wire, 63))}};
    }
    // internet -> pod: arrives with TTL 52 on the NIC, routed once more to the veth.
    std::vector<Hop> ingress(const Pod& dst, const IP& received, const IP& delivered) const {
        const Node& n = *dst.node;
        return {{s_.at(n, "ens5"), 0, ser(EthernetII(n.mac, n.gw_mac) / with_ttl(received, 52))},
                {veth(dst), 14 * kUs, to_pod(dst, with_ttl(delivered, 51))}};
    }

    // WireGuard handshake initiation (148 bytes) from a, response (92 bytes) from b, NIC to NIC.
    std::vector<Hop> wg_initiation(Node& a, Node& b) {
        Bytes m = pattern(148, a.wg_index);
        put_le(m, 0, 1, 4);
        put_le(m, 4, a.wg_index, 4);
        return nic_to_nic(a, b, m);
    }
    std::vector<Hop> wg_response(Node& b, Node& a) {
        Bytes m = pattern(92, b.wg_index);
        put_le(m, 0, 2, 4);
        put_le(m, 4, b.wg_index, 4);
        put_le(m, 8, a.wg_index, 4);
        return nic_to_nic(b, a, m);
    }

private:
    const Point* veth(const Pod& p) const { return s_.at(*p.node, p.veth); }
    static Bytes from_pod(const Pod& p, const IP& ip) {
        return ser(EthernetII(kCaliMac, p.mac) / with_ttl(ip, 64));
    }
    static Bytes to_pod(const Pod& p, const IP& ip) {
        return ser(EthernetII(p.mac, kCaliMac) / ip);
    }

    // Node to node IPv4; IPIP copies DF from the inner packet, VXLAN and WireGuard do not set it.
    static IP outer(Node& a, Node& b, const std::optional<IP>& inner = std::nullopt) {
        IP ip(b.ip, a.ip);
        ip.ttl(64);
        ip.id(a.next_outer_id++);
        if (inner && inner->flags() & IP::DONT_FRAGMENT) ip.flags(IP::DONT_FRAGMENT);
        return ip;
    }
    // The frame on a's NIC, or on b's: across subnets a router between forwards it.
    static Bytes nic(const Node& a, const Node& b, const PDU& payload, bool at_b) {
        std::unique_ptr<PDU> p(payload.clone());
        const bool routed = !a.same_subnet(b);
        if (routed && at_b) {
            auto& ip = p->rfind_pdu<IP>();
            ip.ttl(ip.ttl() - 1);
        }
        return ser(
            EthernetII(routed && !at_b ? a.gw_mac : b.mac, routed && at_b ? b.gw_mac : a.mac) / *p);
    }
    // Transport data: receiver index, counter, then the plaintext padded to 16 plus the tag.
    static Bytes transport(Node& a, Node& b, const IP& inner) {
        const std::uint32_t len = inner.size();
        const std::uint64_t counter = a.wg_counter[&b]++;
        Bytes m = pattern(16 + (len + 15) / 16 * 16 + 16,
                          b.wg_index ^ static_cast<std::uint32_t>(counter));
        put_le(m, 0, 4, 4);
        put_le(m, 4, b.wg_index, 4);
        put_le(m, 8, counter, 8);
        return m;
    }
    std::vector<Hop> nic_to_nic(Node& a, Node& b, const Bytes& msg) {
        const auto udp = outer(a, b) / UDP(51820, 51820) / RawPDU(msg);
        return {{s_.at(a, "ens5"), 0, nic(a, b, udp, false)},
                {s_.at(b, "ens5"), kWire, nic(a, b, udp, true)}};
    }

    Scenario& s_;
};

// An echo request from `src` to `dst` and its reply; returns when the reply arrived.
std::int64_t ping(Scenario& s, Dataplane& dp, Mode m, std::int64_t t, Pod& src, Pod& dst,
                  std::uint16_t seq) {
    t = s.emit(t, dp.cross(m, src, dst, plain(echo(src, dst.ip, ICMP::ECHO_REQUEST, seq))));
    return s.emit(t + kTurnaround,
                  dp.cross(m, dst, src, plain(echo(dst, src.ip, ICMP::ECHO_REPLY, seq))));
}

// --- the sets --------------------------------------------------------------------------------

void pod_points(Scenario& s, const std::string& dir, const std::vector<const Pod*>& pods) {
    for (const Pod* p : pods) s.pcap(dir, *p->node, p->veth, linktype::ethernet);
}
void node_points(Scenario& s, const std::string& dir, const std::vector<const Node*>& nodes,
                 const std::string& tunnel, std::uint32_t tunnel_link) {
    for (const Node* n : nodes) {
        if (!tunnel.empty()) s.pcap(dir, *n, tunnel, tunnel_link);
        s.pcap(dir, *n, "ens5", linktype::ethernet);
    }
}

// IPIP Always, the README's main example: ARP, ping across, TCP on one node, a Service, egress.
void ipip_set(const std::string& dir) {
    Cluster c;
    Scenario s;
    pod_points(s, dir, {&c.pod1, &c.pod2, &c.pod3});
    node_points(s, dir, {&c.w1, &c.w2}, "tunl0", linktype::raw);
    Dataplane dp(s);
    std::int64_t t = kStart;
    auto step = [&](std::int64_t gap, const std::vector<Hop>& hops) { t = s.emit(t + gap, hops); };

    // pod1 asks for its default gateway; the veth answers by proxy ARP.
    const Point* veth1 = s.at(c.w1, c.pod1.veth);
    step(kMs,
         {{veth1, 0, ser(ARP::make_arp_request(kGateway, c.pod1.ip, c.pod1.mac))},
          {veth1, 40 * kUs, ser(ARP::make_arp_reply(c.pod1.ip, kGateway, c.pod1.mac, kCaliMac))}});

    for (std::uint16_t seq = 1; seq <= 3; ++seq)
        t = ping(s, dp, Mode::ipip, t + kMs, c.pod1, c.pod3, seq);

    // pod1 -> pod2 on k8s-w1: routed once, never on tunl0 or ens5.
    Tcp local({.client = c.pod1.ip,
               .cport = 40100,
               .server = c.pod2.ip,
               .sport = 8080,
               .cseq = 1'000'000,
               .sseq = 2'000'000,
               .cid = 0x4101,
               .sid = 0x5201});
    step(kMs, dp.same_node(c.pod1, c.pod2, plain(local.client(TCP::SYN))));
    step(kTurnaround, dp.same_node(c.pod2, c.pod1, plain(local.server(TCP::SYN | TCP::ACK))));
    step(kTurnaround, dp.same_node(c.pod1, c.pod2, plain(local.client(TCP::ACK))));
    step(kTurnaround, dp.same_node(c.pod1, c.pod2, plain(local.client(TCP::PSH | TCP::ACK, 100))));
    step(kTurnaround, dp.same_node(c.pod2, c.pod1, plain(local.server(TCP::ACK))));

    // pod2 -> Service default/web: DNATed to pod3:8080 on k8s-w1 before routing, the answer
    // un-DNATed there after.
    Tcp svc({.client = c.pod2.ip,
             .cport = 41000,
             .server = kClusterIp,
             .sport = 80,
             .cseq = 3'000'000,
             .sseq = 4'000'000,
             .cid = 0x4f21,
             .sid = 0x7201});
    auto to_service = [&](const IP& p) {
        const IP d = nat_dst(p, c.pod3.ip, 8080);
        return dp.cross(Mode::ipip, c.pod2, c.pod3, {p, d, d});
    };
    step(kMs, to_service(svc.client(TCP::SYN)));
    const IP synack = svc.server(TCP::SYN | TCP::ACK);
    const IP from_pod3 = nat_src(synack, c.pod3.ip, 8080);
    step(kTurnaround, dp.cross(Mode::ipip, c.pod3, c.pod2, {from_pod3, from_pod3, synack}));
    step(kTurnaround, to_service(svc.client(TCP::ACK)));

    // pod1 -> the internet: SNATed to k8s-w1:61000 (natOutgoing), the answer de-NATed.
    Tcp web({.client = c.pod1.ip,
             .cport = 40500,
             .server = IPv4Address("203.0.113.10"),
             .sport = 443,
             .cseq = 5'000'000,
             .sseq = 6'000'000,
             .cid = 0x4201,
             .sid = 0x9301});
    auto out = [&](const IP& p) { return dp.egress(c.pod1, p, nat_src(p, c.w1.ip, 61000)); };
    step(kMs, out(web.client(TCP::SYN)));
    const IP answer = web.server(TCP::SYN | TCP::ACK);
    step(8 * kMs, dp.ingress(c.pod1, nat_dst(answer, c.w1.ip, 61000), answer));
    step(kTurnaround, out(web.client(TCP::ACK)));
    s.write();
}

// pod1 -> pod3 in mode `m`: pings, then a TCP handshake and `data` segments of these sizes.
void pod1_to_pod3(Scenario& s, Cluster& c, Mode m, const std::vector<std::size_t>& data,
                  std::uint16_t pings) {
    Dataplane dp(s);
    std::int64_t t = kStart;
    auto step = [&](std::int64_t gap, const std::vector<Hop>& hops) { t = s.emit(t + gap, hops); };
    if (m == Mode::wireguard) {
        step(kMs, dp.wg_initiation(c.w1, c.w2));
        step(200 * kUs, dp.wg_response(c.w2, c.w1));
    }
    for (std::uint16_t seq = 1; seq <= pings; ++seq)
        t = ping(s, dp, m, t + kMs, c.pod1, c.pod3, seq);
    Tcp tcp({.client = c.pod1.ip,
             .cport = 40200,
             .server = c.pod3.ip,
             .sport = 8080,
             .cseq = 7'000'000,
             .sseq = 8'000'000,
             .cid = 0x4301,
             .sid = 0x7301});
    step(kMs, dp.cross(m, c.pod1, c.pod3, plain(tcp.client(TCP::SYN))));
    step(kTurnaround, dp.cross(m, c.pod3, c.pod1, plain(tcp.server(TCP::SYN | TCP::ACK))));
    step(kTurnaround, dp.cross(m, c.pod1, c.pod3, plain(tcp.client(TCP::ACK))));
    for (std::size_t len : data)
        step(kTurnaround, dp.cross(m, c.pod1, c.pod3, plain(tcp.client(TCP::PSH | TCP::ACK, len))));
    step(kTurnaround, dp.cross(m, c.pod3, c.pod1, plain(tcp.server(TCP::ACK))));
}

void vxlan_set(const std::string& dir) {
    Cluster c;
    Scenario s;
    pod_points(s, dir, {&c.pod1, &c.pod3});
    node_points(s, dir, {&c.w1, &c.w2}, "vxlan.calico", linktype::ethernet);
    pod1_to_pod3(s, c, Mode::vxlan, {100}, 1);
    s.write();
}

void wireguard_set(const std::string& dir) {
    Cluster c;
    Scenario s;
    pod_points(s, dir, {&c.pod1, &c.pod3});
    node_points(s, dir, {&c.w1, &c.w2}, "wireguard.cali", linktype::raw);
    pod1_to_pod3(s, c, Mode::wireguard, {100, 1000}, 2);
    s.write();
}

// CrossSubnet: direct to k8s-w2 (same subnet), IPIP to k8s-w0 (the other one).
void crosssubnet_set(const std::string& dir) {
    Cluster c;
    Scenario s;
    pod_points(s, dir, {&c.pod1, &c.pod3, &c.pod4});
    node_points(s, dir, {&c.w1, &c.w0}, "tunl0", linktype::raw);
    node_points(s, dir, {&c.w2}, "", 0);
    Dataplane dp(s);
    std::int64_t t = kStart + kMs;
    for (std::uint16_t seq = 1; seq <= 2; ++seq)
        t = ping(s, dp, Mode::direct, t, c.pod1, c.pod3, seq) + kMs;
    for (std::uint16_t seq = 1; seq <= 2; ++seq)
        t = ping(s, dp, Mode::ipip, t, c.pod1, c.pod4, seq) + kMs;
    s.write();
}

// What `podtrace discover --json` prints on a node of the reference cluster.
std::string facts(const Node& n, int nic_mtu, const std::vector<const Pod*>& pods,
                  const std::string& block, const std::vector<const Node*>& peers,
                  const std::vector<std::string>& peer_blocks) {
    auto link = [](const std::string& name, int ifindex, const std::string& kind, int mtu, json mac,
                   const std::string& state, std::vector<std::string> addrs) {
        return json{{"name", name}, {"ifindex", ifindex},  {"kind", kind},      {"mtu", mtu},
                    {"mac", mac},   {"oper_state", state}, {"addresses", addrs}};
    };
    json j;
    j["nic"] = link("ens5", 2, "", nic_mtu, n.mac.to_string(), "up", {n.ip.to_string() + "/24"});
    j["nic"]["gateway"] = n.name == "k8s-w0" ? "192.168.20.1" : "192.168.10.1";
    j["pods"] = json::array();
    int ifindex = 7;
    for (const Pod* p : pods) {
        json pj = link(p->veth, ifindex++, "veth", 9001, kCaliMac.to_string(), "up", {});
        pj["ips"] = {p->ip.to_string()};
        j["pods"].push_back(pj);
    }
    const std::string tunl0_addr = block.substr(0, block.find('/'));
    json tj = link("tunl0", 3, "ipip", nic_mtu - 20, nullptr, "unknown", {tunl0_addr + "/32"});
    tj.update({{"type", "ipip"},
               {"vni", nullptr},
               {"dst_port", nullptr},
               {"local", nullptr},
               {"table", nullptr},
               {"rule_priority", nullptr}});
    j["tunnels"] = json::array({tj});
    j["blocks"] =
        json::array({{{"cidr", block}, {"protocol", "bird"}, {"protocol_id", 12}, {"table", 254}}});
    j["remote_routes"] = json::array();
    for (std::size_t i = 0; i < peers.size(); ++i)
        j["remote_routes"].push_back({{"dst", peer_blocks[i]},
                                      {"via", peers[i]->ip.to_string()},
                                      {"dev", "tunl0"},
                                      {"ifindex", 3},
                                      {"onlink", true},
                                      {"protocol", "bird"},
                                      {"protocol_id", 12},
                                      {"table", 254},
                                      {"mode", "ipip"}});
    j["nat_outgoing"] = {{"hooked", true},
                         {"rules", json::array({{{"family", "ip"},
                                                 {"table", "nat"},
                                                 {"chain", "cali-nat-outgoing"},
                                                 {"handle", 5},
                                                 {"src", nullptr},
                                                 {"src_negated", false},
                                                 {"src_set", "cali40masq-ipam-pools"},
                                                 {"dst", nullptr},
                                                 {"dst_negated", true},
                                                 {"dst_set", "cali40all-ipam-pools"},
                                                 {"random_fully", true},
                                                 {"matches",
                                                  {"ip saddr @cali40masq-ipam-pools",
                                                   "ip daddr != @cali40all-ipam-pools"}}}})}};
    j["nat_outgoing_reason"] = nullptr;
    j["nat_ruleset_read"] = true;
    return j.dump();
}

// Faults, each in its own time slot, as `podtrace capture` records them: one pcapng per node.
void faults_set(const std::string& dir) {
    Cluster c;
    Scenario s;
    s.pcapng(dir + "/k8s-w1.pcapng", c.w1,
             facts(c.w1, 9001, {&c.pod1, &c.pod2}, "172.16.158.0/24", {&c.w2, &c.w0},
                   {"172.16.184.0/24", "172.16.34.0/24"}),
             {{c.pod1.veth, linktype::ethernet},
              {c.pod2.veth, linktype::ethernet},
              {"tunl0", linktype::raw},
              {"ens5", linktype::ethernet}});
    s.pcapng(dir + "/k8s-w2.pcapng", c.w2,
             facts(c.w2, 9001, {&c.pod3}, "172.16.184.0/24", {&c.w1, &c.w0},
                   {"172.16.158.0/24", "172.16.34.0/24"}),
             {{c.pod3.veth, linktype::ethernet},
              {"tunl0", linktype::raw},
              {"ens5", linktype::ethernet}});
    Dataplane dp(s);
    std::int64_t t = kStart + kMs;

    // A normal ping (the clock estimate's traffic both ways) before and after the faults.
    t = ping(s, dp, Mode::ipip, t, c.pod1, c.pod3, 1) + 100 * kMs;

    // Dropped on k8s-w2 between tunl0 and pod3's veth: three tries of one SYN, 1 s apart.
    Tcp dropped({.client = c.pod1.ip,
                 .cport = 40300,
                 .server = c.pod3.ip,
                 .sport = 9090,
                 .cseq = 9'000'000,
                 .sseq = 0,
                 .cid = 0x4401,
                 .sid = 0});
    const IP syn = dropped.client(TCP::SYN);
    for (std::uint16_t i = 0; i < 3; ++i) {
        IP again = syn;  // the same segment; only the IP ID moves on
        again.id(syn.id() + i);
        auto hops = dp.cross(Mode::ipip, c.pod1, c.pod3, plain(again));
        hops.pop_back();  // never reaches pod3's veth
        s.emit(t + i * kSec, hops);
    }
    t += 2 * kSec + 100 * kMs;

    // 9000 bytes with DF do not fit tunl0 (MTU 8981): k8s-w1 answers frag-needed.
    Tcp big({.client = c.pod1.ip,
             .cport = 40600,
             .server = c.pod3.ip,
             .sport = 8080,
             .cseq = 10'000'000,
             .sseq = 11'000'000,
             .cid = 0x4501,
             .sid = 0});
    IP segment = big.client(TCP::PSH | TCP::ACK, 9000 - 40);
    Bytes quoted = ser(segment);
    quoted.resize(28);
    ICMP need(ICMP::DEST_UNREACHABLE);
    need.code(4);
    need.mtu(8981);
    IP from_node(c.pod1.ip, c.w1.ip);
    from_node.ttl(64);
    from_node.id(0x0e01);
    const Point* veth1 = s.at(c.w1, c.pod1.veth);
    t = s.emit(t, {{veth1, 0, ser(EthernetII(kCaliMac, c.pod1.mac) / segment)},
                   {veth1, 20 * kUs,
                    ser(EthernetII(c.pod1.mac, kCaliMac) / from_node / need / RawPDU(quoted))}}) +
        100 * kMs;

    t = ping(s, dp, Mode::ipip, t, c.pod1, c.pod3, 2) + 100 * kMs;

    // No reply: SNATed to k8s-w1:61001 and never answered.
    Tcp silent({.client = c.pod2.ip,
                .cport = 42000,
                .server = IPv4Address("203.0.113.20"),
                .sport = 80,
                .cseq = 12'000'000,
                .sseq = 0,
                .cid = 0x4f31,
                .sid = 0});
    const IP unanswered = silent.client(TCP::SYN);
    t = s.emit(t, dp.egress(c.pod2, unanswered, nat_src(unanswered, c.w1.ip, 61001))) + 100 * kMs;

    // Egress without SNAT: the pod's own address leaves the node.
    Tcp unmasked({.client = c.pod2.ip,
                  .cport = 42100,
                  .server = IPv4Address("198.51.100.7"),
                  .sport = 443,
                  .cseq = 13'000'000,
                  .sseq = 0,
                  .cid = 0x4f41,
                  .sid = 0});
    IP bare = unmasked.client(TCP::SYN);
    s.emit(t, dp.egress(c.pod2, bare, bare));
    s.write();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s EXAMPLES_DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    try {
        for (const char* sub : {"ipip", "vxlan", "wireguard", "crosssubnet", "faults"})
            std::filesystem::create_directories(dir + "/" + sub);
        ipip_set(dir + "/ipip");
        vxlan_set(dir + "/vxlan");
        wireguard_set(dir + "/wireguard");
        crosssubnet_set(dir + "/crosssubnet");
        faults_set(dir + "/faults");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "podtrace_make_examples: %s\n", e.what());
        return 1;
    }
    return 0;
}
