#include "ingest/step.hpp"

#include <algorithm>

namespace podtrace::ingest {

NodeAddresses node_addresses(const trace::NodeFacts& facts) {
    NodeAddresses a;
    if (facts.nic)
        for (const trace::Cidr& c : facts.nic->addresses) a.own.push_back(c.base);
    for (const trace::FactsLink& t : facts.tunnels)
        for (const trace::Cidr& c : t.addresses) a.own.push_back(c.base);
    for (const auto& [veth, ips] : facts.pods) a.pods.insert(a.pods.end(), ips.begin(), ips.end());
    return a;
}

void infer_direction(trace::Sighting& s, std::span<const NodeAddresses> by_node) {
    if (s.direction != core::Direction::unknown || s.at.kind == trace::PointKind::pod_veth ||
        s.at.node >= by_node.size() || s.ip_version == 0)
        return;
    const NodeAddresses& n = by_node[s.at.node];
    const auto in = [](const std::vector<trace::IpAddr>& v, const decode::Addr& a,
                       std::uint8_t version) {
        return std::ranges::find(v, trace::IpAddr{a, version}) != v.end();
    };
    bool out = false, inbound = false;
    if (s.encapsulated()) {
        out = in(n.own, s.outer_src, s.outer_version);
        inbound = in(n.own, s.outer_dst, s.outer_version);
    } else {
        out = in(n.own, s.src, s.ip_version) || in(n.pods, s.src, s.ip_version);
        inbound = in(n.own, s.dst, s.ip_version) || in(n.pods, s.dst, s.ip_version);
    }
    if (out != inbound) s.direction = out ? core::Direction::outbound : core::Direction::inbound;
}

void Step::learn_node(std::uint16_t node, const trace::NodeFacts& facts) {
    if (addresses_.size() <= node) addresses_.resize(node + 1);
    addresses_[node] = node_addresses(facts);
}

void Step::set_clocks(std::span<const trace::NodeClock> clocks) {
    for (const trace::NodeClock& c : clocks) {
        if (!c.estimated) continue;
        if (offset_.size() <= c.node) offset_.resize(c.node + 1, 0);
        offset_[c.node] = c.offset_ns;
    }
}

}  // namespace podtrace::ingest
