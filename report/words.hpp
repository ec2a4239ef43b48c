#pragma once
// How podtrace puts flows, endpoints, durations, clocks and findings into words: the report's
// formats and the TUI's screens use these, so a flow reads the same everywhere.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "report/session.hpp"
#include "trace/flows.hpp"

namespace podtrace::report {

const trace::Flow* flow_by_id(const Session& s, std::uint32_t id);  // nullptr if none
// "k8s-w1/tunl0"; the node alone for a classic pcap named after no interface.
std::string point_name(const Session& s, trace::PointId p);
// "default/pod1 172.16.158.1:40500", "203.0.113.10:443".
std::string endpoint_text(const Session& s, const trace::Endpoint& e, bool port);
std::string proto_text(std::uint8_t proto);  // "TCP", "proto 47"
bool has_ports(const trace::Flow& f);        // TCP, UDP, SCTP
// A duration to the precision its timestamps carry: whole µs for µs captures.
std::string duration_text(std::int64_t ns, std::uint8_t digits);
// The clock uncertainty of a hop between two nodes (0 on one node).
std::int64_t hop_uncertainty(const Session& s, const trace::HopStat& h);
std::string rewrite_text(const Session& s, const trace::Rewrite& r);  // "FROM -> TO", named
// A node's own address (a host-networked pod's too): known from facts, packets or --nodes.
bool host_networked(const Session& s, const trace::Endpoint& e);
// The flow's kind as the report states it: classify()'s, except that a pod address leaving a
// NIC unchanged towards the outside (a finding of diagnose()) is egress, not direct routing.
trace::PathKind flow_kind(const Session& s, const trace::Flow& f);
// The way it went between pods: a Service's same-node or cross-node, else flow_kind().
trace::PathKind flow_route(const Session& s, const trace::Flow& f);
// Egress: the NIC it left by ("k8s-w1/ens5"), the last NIC of its request's path or the first
// of its reply's; "" when neither was captured or the flow is not egress.
std::string egress_nic(const Session& s, const trace::Flow& f);
// "cross-node IPIP", "egress via k8s-w1/ens5, SNAT 172.16.158.1:40500 -> 192.168.10.101:61000",
// "service, DNAT 10.200.1.10:80 -> 172.16.184.4:8080, cross-node IPIP".
std::string kind_text(const Session& s, const trace::Flow& f);
// How pod traffic crossed between each pair of nodes seen at both ends and the IP pool mode
// that implies ("IPIP k8s-w1 <-> k8s-w2: IPIP mode Always ..."); "" when no pair was seen.
std::string pool_mode_text(const Session& s);
std::span<const trace::Diagnosis> findings_of(const Session& s, std::uint32_t flow);
// "ok, both ways", "dropped on k8s-w2 after tunl0, before cali49778cadcf1 (+1 more)".
std::string verdict(const Session& s, const trace::Flow& f);
// The verdict is "ok": no finding, and the flow was seen both ways or its kind is known.
bool arrived(const Session& s, const trace::Flow& f);
// The "dropped" finding of `flow` that says its packets stopped at `last` (where a path's last
// sighting was), or nullptr.
const trace::Diagnosis* stopped_at(const Session& s, std::uint32_t flow, trace::PointId last);
// "k8s-w0: +0.000001 s +/- 5 us (8 packets one way, 8 the other), corrected".
std::string clock_text(const Session& s, const trace::NodeClock& c);
// "estimated over the first 196608 frames (131.072 ms of each capture), ...", or "" when the
// clock pass read every frame.
std::string clock_prefix_text(const Session& s);
// "dropped (flow 10): default/pod1 (172.16.158.1) -> ... (capturing then)".
std::string finding_text(const trace::Diagnosis& x);
// "3 frames stamped before 1677 or after 2262 (the first: frame 17), their times clamped", or
// "" when every timestamp fit.
std::string ts_out_of_range_text(std::uint64_t frames, std::uint64_t first);
// "355 frames: 355 decoded", with the other statuses and the reasons counted.
std::string decode_summary(const decode::Stats& st);

// One hop's latency over all of a flow's packets, as the report's table and the TUI list it.
struct LatencyRow {
    std::string from, to;  // "k8s-w1/tunl0"
    bool reverse = false;
    std::uint64_t packets = 0;
    std::string p50, p99;     // "84.147 us", to the precision the timestamps carry
    std::string uncertainty;  // between two nodes: "4.138 us", else ""
};
std::vector<LatencyRow> latency_rows(const Session& s, const trace::Flow& f);

}  // namespace podtrace::report
