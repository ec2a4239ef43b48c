#pragma once
// What went wrong, each finding naming the node and the hop: drops (seen at one capture point,
// not at the one the path model says comes next although it was capturing), MTU (DF packets
// larger than a tunnel's MTU, ICMP frag-needed / packet-too-big linked to their packet), no
// reply, egress without SNAT, and cross-node traffic in clear where WireGuard is expected.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trace/flows.hpp"
#include "trace/topology.hpp"

namespace podtrace::trace {

enum class DiagnosisKind : std::uint8_t {
    dropped,
    mtu,
    no_reply,
    egress_without_snat,
    unencrypted
};
const char* diagnosis_kind_name(DiagnosisKind k);  // "dropped", "mtu", "no-reply", ...

struct Diagnosis {
    DiagnosisKind kind;
    std::uint32_t flow = 0;  // Flow::id; 0 when it is about no single flow
    std::uint16_t node = 0;  // the node it happened on (Names id)
    // "after tunl0, before calice0906292e2" / "tunl0 MTU 8981 (IPIP overhead 20)" ...
    std::string where;
    // One line, complete: "default/pod1 -> default/pod3 TCP: 12 packets seen on k8s-w2/tunl0,
    // never on k8s-w2/calie4c8… (default/pod3's veth, capturing then)".
    std::string message;
    // What is known about why, "" when nothing is: "route: blackhole 172.16.184.0/24 proto
    // bird", "DF set, 9001 > tunl0 MTU 8981", "no SNAT rule hooked (natOutgoing false?)".
    std::string why;
    std::uint64_t count = 0;  // packets concerned
    std::int64_t first_ns = 0;
    // The capture point it names: where a dropped or unanswered packet was last seen, the NIC
    // a packet left by unchanged or in clear. `missed`: for a drop, the points it never reached
    // although they were capturing, the first one named in `where`.
    std::optional<PointId> at;
    std::vector<PointId> missed;
};

struct DiagnoseOptions {
    // WireGuard is expected between nodes (--expect encrypted, or a node has wireguard.cali
    // in its facts or captures): pod IPs in clear on a NIC between nodes are a finding.
    bool expect_encrypted = false;
};

// Findings in flow order, then by kind.
std::vector<Diagnosis> diagnose(const FlowTable& flows, const Topology& topo,
                                const DiagnoseOptions& opt = {});

}  // namespace podtrace::trace
