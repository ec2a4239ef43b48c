#pragma once
// How `report` puts flows, endpoints, durations and findings into words; the TUI shows the same
// words (report_output.cpp holds them, for both).
#include <cstdint>
#include <string>
#include <vector>

#include "app/report.hpp"

namespace podtrace::app {

const trace::Flow* flow_by_id(const ReportData& d, std::uint32_t id);  // nullptr if none
// "k8s-w1/tunl0"; the node alone for a classic pcap named after no interface.
std::string point_name(const ReportData& d, trace::PointId p);
// "default/pod1 172.16.158.1:40500", "203.0.113.10:443".
std::string endpoint_text(const ReportData& d, const trace::Endpoint& e, bool port);
std::string proto_text(std::uint8_t proto);  // "TCP", "proto 47"
bool has_ports(const trace::Flow& f);        // TCP, UDP, SCTP
// A duration to the precision its timestamps carry: whole µs for µs captures.
std::string duration_text(std::int64_t ns, std::uint8_t digits);
// The clock uncertainty of a hop between two nodes (0 on one node).
std::int64_t hop_uncertainty(const ReportData& d, const trace::HopStat& h);
std::string rewrite_text(const ReportData& d, const trace::Rewrite& r);  // "FROM -> TO"
// "cross-node IPIP", "egress, SNAT 172.16.158.1:40500 -> 192.168.10.101:61000".
std::string kind_text(const ReportData& d, const trace::Flow& f);
std::vector<const trace::Diagnosis*> findings_of(const ReportData& d, std::uint32_t flow);
// "ok, both ways", "dropped on k8s-w2 after tunl0, before cali49778cadcf1 (+1 more)".
std::string verdict(const ReportData& d, const trace::Flow& f);
// "k8s-w0: +0.000001 s +/- 5 us (8 packets one way, 8 the other), corrected".
std::string clock_text(const ReportData& d, const trace::NodeClock& c);
// "estimated over the first 196608 frames (131.072 ms of each capture), ...", or "" when the clock
// pass read every frame.
std::string clock_prefix_text(const ReportData& d);
// "dropped (flow 10): default/pod1 (172.16.158.1) -> ... (capturing then)".
std::string finding_text(const trace::Diagnosis& x);

}  // namespace podtrace::app
