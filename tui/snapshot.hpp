#pragma once
// What the TUI draws: a copy of the tracer's state, already in words. The Model fills it on
// request (under its own lock), draw() reads it and nothing else, so every screen can be
// rendered from a fixed Snapshot in a test.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace podtrace::tui {

// One row of the Flows screen.
struct FlowRow {
    std::uint32_t id = 0;                // trace::Flow::id
    std::string src, dst;                // "default/pod1", "default/web (service)" or the IP
    std::string src_addr, dst_addr;      // the IPs as text
    std::uint16_t sport = 0, dport = 0;  // 0 when the protocol has no ports (ICMP: none)
    std::string proto;                   // "TCP", "UDP", "ICMP", "proto 47"
    std::string kind;   // "same-node", "cross-node", "egress", "service", "unknown"
    std::string encap;  // cross-node: "IPIP", "VXLAN 4096", "WireGuard", "direct"; else ""
    std::string nat;    // "SNAT 172.16.158.1:40500 -> 192.168.10.101:61000", "DNAT …", ""
    std::uint64_t packets_fwd = 0, packets_rev = 0, bytes_fwd = 0, bytes_rev = 0;
    // One-way latency from the first to the last capture point, client -> server, over the
    // flow's packets; -1 when no packet was seen at two points.
    std::int64_t latency_p50_ns = -1, latency_p99_ns = -1;
    std::uint8_t latency_digits = 9;  // 6 for µs captures: print whole µs
    std::uint64_t drops = 0;          // packets concerned by "dropped" findings
    std::uint32_t findings = 0;       // findings of any kind
    std::int64_t first_ns = 0, last_ns = 0;
    // Lower-case text the filter searches: names, namespaces, IPs, ports, proto, kind, encap.
    std::string search;
};

// One sighting of one packet, as the Path screen lists it.
struct HopRow {
    std::string node, interface;
    std::string point;  // "veth", "tunnel", "nic"
    std::string pod;    // the pod behind a veth when known ("default/pod1"), else ""
    std::string direction;  // "in", "out", "-"
    std::string headers;    // as `report` prints them: "IPIP 192.168.10.101 > … | 172.16… ttl 63"
    std::string rewrite;    // where a NAT rewrite first shows: "src 172.16.158.1:40500 ->
                            // 192.168.10.101:61000"; "" elsewhere
    std::string latency;    // from the previous hop, to the capture precision: "+84.147 us"
    std::uint64_t frame = 0;  // the packet store's handle; 0 when the frame is not kept
};

// One packet of a flow, every point it was seen at.
struct PacketPath {
    std::uint64_t number = 0;  // 1, 2, … in the flow, in the order its paths finished
    bool reverse = false;      // server -> client
    std::int64_t ts_ns = 0;    // first sighting
    std::string verdict;       // "cross-node IPIP k8s-w1 -> k8s-w2 6 hops: 172.16… ICMP echo request"
    std::vector<HopRow> hops;
    // Where it stopped, when a finding says it did not reach its end ("dropped on k8s-w2 after
    // tunl0, before cali49778cadcf1: …"); "" when it arrived or nothing is known.
    std::string stopped;
};

// Per-hop latency over all of a flow's packets.
struct HopLatency {
    std::string from, to;  // "k8s-w1/tunl0"
    bool reverse = false;
    std::uint64_t count = 0;
    std::string p50, p99;  // "84.147 us"; to the precision the timestamps carry
};

struct FlowDetail {
    FlowRow row;
    std::string kind;                   // as report's text: "cross-node IPIP, host-networked …"
    std::string verdict;                // report's one-line verdict
    bool ok = false;                    // the verdict says it arrived ("ok, both ways")
    std::vector<std::string> findings;  // the flow's findings, one line each
    std::vector<HopLatency> hops;
    std::vector<PacketPath> packets;  // the most recent ones kept, oldest first
    std::uint64_t packets_seen = 0;   // paths of the flow in all (kept or not)
    std::uint64_t frames_kept = 0;    // frames of the flow still in the packet store (for `s`)
};

// One line of a frame's dissection: a layer's header (no indent) or one of its fields (two
// spaces), e.g.
//   "Ethernet II, src 0a:58:..., dst ee:ee:ee:ee:ee:ee"
//   "  type 0x0800 (IPv4)"
//   "IPv4, src 192.168.10.101, dst 192.168.10.102"
//   "  ttl 64, id 0x1234, flags DF, total length 104, protocol 4 (IPIP)"
struct TreeLine {
    std::string text;
    bool layer = false;      // a layer's header
    bool truncated = false;  // says the capture cut the layer short
    bool operator==(const TreeLine&) const = default;
};

// The Packet screen: one sighting, dissected.
struct PacketDetail {
    std::uint64_t frame = 0;
    std::string title;           // "k8s-w1/ens5 out  2026-11-27 12:00:00.123456789  98 bytes"
    std::vector<TreeLine> tree;  // tui::dissect()
    std::vector<std::uint8_t> bytes;
    bool kept = true;  // false: the store has let it go (the title still says what it was)
};

// One capture point on the Interfaces screen: the tool's honesty panel.
struct InterfaceRow {
    std::string node, interface;
    std::string point;  // "veth", "tunnel", "nic"
    std::string pod;    // behind a veth, when known
    std::string state;  // "capturing", "gone", "file", or the error that stopped it
    std::uint64_t packets = 0, bytes = 0;
    double pps = 0, bps = 0;  // over the last full second of capture time (bits per second)
    std::uint64_t kernel_drops = 0, queue_drops = 0;  // live only
    std::uint64_t undecodable = 0;
    std::vector<std::pair<std::string, std::uint64_t>> reasons;  // undecodable, by reason
};

struct Snapshot {
    std::string source;  // "live on k8s-w1, 7 interfaces" / "3 files, 3 nodes"
    std::string state;   // "capturing", "replaying 1x 45%", "end of files", an error
    std::uint64_t frames = 0, packets = 0;  // frames read, packets traced (paths)
    std::int64_t now_ns = 0;                // newest capture time seen ("last seen" ages)
    std::vector<FlowRow> flows;             // every flow, in id order
    std::vector<std::string> findings;      // every finding, one line each
    std::vector<InterfaceRow> interfaces;
    std::vector<std::string> notes;  // clock offsets, file errors, what was not estimated
    std::optional<FlowDetail> detail;    // the flow Query::flow asked for, if it exists
    std::optional<PacketDetail> packet;  // the frame Query::frame asked for, if asked
};

// What the screen being shown needs beyond the flow table.
struct Query {
    std::uint32_t flow = 0;   // 0: no detail
    std::uint64_t frame = 0;  // 0: no packet
};

}  // namespace podtrace::tui
