#include "trace/diagnose.hpp"

#include <algorithm>

#include "core/time.hpp"

namespace podtrace::trace {

const char* diagnosis_kind_name(DiagnosisKind k) {
    switch (k) {
        case DiagnosisKind::dropped: return "dropped";
        case DiagnosisKind::mtu: return "mtu";
        case DiagnosisKind::no_reply: return "no-reply";
        case DiagnosisKind::egress_without_snat: return "egress-without-snat";
        case DiagnosisKind::unencrypted: return "unencrypted";
    }
    return "?";
}

namespace {

IpAddr addr(const decode::Addr& a, std::uint8_t version) {
    return {a, version};
}

const char* facts_type(Encap e) {
    switch (e) {
        case Encap::ipip: return "ipip";
        case Encap::vxlan: return "vxlan";
        case Encap::wireguard: return "wireguard";
        default: return "";
    }
}

const char* default_tunnel_name(Encap e) {
    switch (e) {
        case Encap::ipip: return "tunl0";
        case Encap::vxlan: return "vxlan.calico";
        case Encap::wireguard: return "wireguard.cali";
        default: return "";
    }
}

// Bytes the encapsulation adds on the underlay (Calico's MTU arithmetic); 0
// when not one.
unsigned overhead(Encap e, std::uint8_t version) {
    switch (e) {
        case Encap::ipip: return 20;
        case Encap::vxlan: return version == 6 ? 70 : 50;
        case Encap::wireguard: return version == 6 ? 80 : 60;
        default: return 0;
    }
}

Encap encap_of_type(std::string_view type) {
    if (type == "ipip") return Encap::ipip;
    if (type == "vxlan") return Encap::vxlan;
    if (type == "wireguard") return Encap::wireguard;
    return Encap::none;
}

std::string proto_name(std::uint8_t proto) {
    switch (proto) {
        case kTcp: return "TCP";
        case kUdp: return "UDP";
        case kIcmp: return "ICMP";
        case kIcmp6: return "ICMPv6";
        case 132: return "SCTP";
    }
    return "proto " + std::to_string(proto);
}

std::string plural(std::uint64_t n, const char* word) {
    return std::to_string(n) + ' ' + word + (n == 1 ? "" : "s");
}

class Writer {
public:
    explicit Writer(const Topology& topo) : topo_(topo) {}

    const std::string& name(std::uint16_t id) const { return topo_.names().name(id); }
    std::string point(PointId p) const { return name(p.node) + '/' + name(p.interface); }

    // "default/pod1 (172.16.158.1)", "default/web (service 10.200.1.10)",
    // "203.0.113.10".
    std::string label(const IpAddr& a) const {
        const std::string ip = a.str();
        std::string n = topo_.name_of(a);
        if (n.empty()) return ip;
        if (n.ends_with(')')) {
            n.insert(n.size() - 1, ' ' + ip);
            return n;
        }
        return n + " (" + ip + ')';
    }

    // "default/pod1 (172.16.158.1) -> default/pod3 (172.16.184.4) TCP"
    std::string flow(const Flow& f, bool reverse = false) const {
        const Endpoint& from = reverse ? f.server : f.client;
        const Endpoint& to = reverse ? f.client : f.server;
        return label(addr(from.addr, from.version)) + " -> " + label(addr(to.addr, to.version)) +
               ' ' + proto_name(f.proto) + (reverse ? " replies" : "");
    }

private:
    const Topology& topo_;
};

// The tunnel of `encap` on a node, by the facts' tunnel types, else by Calico's
// device name.
std::pair<std::string, unsigned> tunnel_mtu(const NodeFacts& f, Encap encap) {
    if (encap == Encap::none)
        return f.nic ? std::pair{f.nic->name, f.nic->mtu} : std::pair{std::string(), 0u};
    for (std::size_t i = 0; i < f.tunnels.size() && i < f.tunnel_types.size(); ++i)
        if (f.tunnel_types[i] == facts_type(encap)) return {f.tunnels[i].name, f.tunnels[i].mtu};
    const std::string n = default_tunnel_name(encap);
    return {n, f.mtu(n)};
}

// "tunl0 MTU 8981 (IPIP overhead 20)"
std::string mtu_text(const std::string& iface, unsigned mtu, Encap encap, std::uint8_t version) {
    std::string s = iface + " MTU " + std::to_string(mtu);
    if (const unsigned o = overhead(encap, version))
        s += std::string(" (") + encap_name(encap) + " overhead " + std::to_string(o) + ')';
    return s;
}

class Diagnoser {
public:
    Diagnoser(const FlowTable& flows, const Topology& topo, const DiagnoseOptions& opt)
        : flows_(flows), topo_(topo), opt_(opt), w_(topo) {}

    std::vector<Diagnosis> run() {
        for (const Flow& f : flows_.flows()) {
            for (const PathEnd& e : f.ends) dropped(f, e);
            mtu(f);
            no_reply(f);
            egress_without_snat(f);
            unencrypted(f);
        }
        return std::move(out_);
    }

private:
    void add(DiagnosisKind k, const Flow& f, std::uint16_t node, std::string where,
             std::string message, std::string why, std::uint64_t count, std::int64_t first_ns,
             std::optional<PointId> at = {}, std::vector<PointId> missed = {}) {
        out_.push_back({k, f.id, node, std::move(where), std::move(message), std::move(why), count,
                        first_ns, at, std::move(missed)});
    }

    // A point that stopped capturing right after the packet was last seen could not have seen
    // its next hop: it must go on this long (hops are µs to ms apart) for a missing hop to count.
    static constexpr std::int64_t kGrace = 100'000'000;

    // Points of `node` capturing at `ts` that `keep` accepts, in path order: tunnels before
    // the NIC on the way out, the NIC first on the way in.
    template <class Keep>
    std::vector<PointId> capturing(std::uint16_t node, std::int64_t ts, bool transmit,
                                   Keep keep) const {
        std::vector<PointId> v;
        for (const PointId& p : topo_.captured_on(node, ts))
            if (keep(p) && topo_.captured(p, core::add_ns(ts, kGrace))) v.push_back(p);
        std::ranges::stable_sort(
            v, {}, [&](const PointId& p) { return (p.kind == PointKind::nic) == transmit; });
        return v;
    }

    // The veth of a pod on `node`, if it was capturing at `ts`.
    std::vector<PointId> veth_on(const IpAddr& pod, std::uint16_t node, std::int64_t ts) const {
        const auto v = topo_.pod_veth(pod);
        if (!v || v->node != node || !topo_.captured(*v, ts) ||
            !topo_.captured(*v, core::add_ns(ts, kGrace)))
            return {};
        return {*v};
    }

    bool local_pod(const NodeFacts& f, std::uint16_t node, const IpAddr& dst) const {
        if (const auto v = topo_.pod_veth(dst); v && v->node == node) return true;
        for (const auto& [veth, ips] : f.pods)
            if (std::ranges::find(ips, dst) != ips.end()) return true;
        return false;
    }

    // What the node's facts say about sending `dst` on: a blackhole it falls into
    // (a node's own block is a blackhole too, but a local pod's /32 beats it), or
    // no route to a pod address.
    std::string route_reason(std::uint16_t node, const IpAddr& dst) const {
        const NodeFacts* f = topo_.facts(node);
        if (!f || local_pod(*f, node, dst)) return "";
        const NodeRoute* r = f->route_to(dst);
        if (r && (r->mode == "blackhole" || r->dev.empty())) return "route: " + r->text;
        if (!r && topo_.is_pod(dst))
            return "no route to " + dst.str() + " in " + w_.name(node) + "'s facts";
        return "";
    }

    std::string mtu_reason(const Flow& f, const FlowDir& d, std::uint16_t node,
                           const IpAddr& dst) const {
        const NodeFacts* facts = topo_.facts(node);
        if (!facts || d.max_df_length == 0) return "";
        auto [iface, mtu] = tunnel_mtu(*facts, f.encap);
        // A packet stopped before any tunnel shows no encapsulation: the node's route for it
        // names the device it could not pass.
        if (const NodeRoute* r = facts->route_to(dst); r && !r->dev.empty() && facts->mtu(r->dev)) {
            iface = r->dev;
            mtu = facts->mtu(r->dev);
        }
        if (mtu == 0 || d.max_df_length <= mtu) return "";
        return "DF set, " + std::to_string(d.max_df_length) + " > " + iface + " MTU " +
               std::to_string(mtu);
    }

    // Where the packet was meant to go once it left `e.at`: the pod behind a
    // ClusterIP the flow was DNATed to, the pod behind the node address an egress
    // reply was sent to.
    IpAddr destination(const Flow& f, const PathEnd& e) const {
        IpAddr dst = addr(e.last.dst, e.last.ip_version);
        if (!e.reverse && f.dnat && dst == addr(f.dnat->from.addr, f.dnat->from.version))
            return addr(f.dnat->to.addr, f.dnat->to.version);
        if (e.reverse && f.snat && dst == addr(f.snat->to.addr, f.snat->to.version))
            return addr(f.snat->from.addr, f.snat->from.version);
        return dst;
    }

    void dropped(const Flow& f, const PathEnd& e) {
        const Sighting& s = e.last;
        // A pod's own end: where it goes next (its veth, the node) is another capture's view.
        if (s.ip_version == 0 || e.at.kind == PointKind::pod_side) return;
        const std::uint16_t node = e.at.node;
        const std::int64_t ts = e.last_ns;
        const IpAddr dst = destination(f, e);
        const bool service_ip =
            topo_.inventory() && topo_.inventory()->service_by_ip(dst) != nullptr;
        std::vector<PointId> next;
        bool same_node = true;
        if (e.at.kind == PointKind::pod_veth) {
            if (!e.transmit || service_ip) return;  // into a pod; a ClusterIP not yet resolved
            const auto veth = topo_.pod_veth(dst);
            const auto dst_node = topo_.node_of(dst);
            if (veth && veth->node == node)
                next = veth_on(dst, node, ts);
            else if (dst_node == node)
                return;  // to this node's host stack, or a local pod behind an unknown
                         // veth
            else
                next = capturing(node, ts, true,
                                 [](const PointId& p) { return p.kind != PointKind::pod_veth; });
        } else if (e.transmit) {
            if (is_tunnel(e.at.kind)) {
                next = capturing(node, ts, true,
                                 [](const PointId& p) { return p.kind == PointKind::nic; });
            } else {
                std::optional<std::uint16_t> to;
                if (s.encapsulated())
                    to = topo_.node_of(addr(s.outer_dst, s.outer_version));
                else if (topo_.is_pod(dst) || topo_.node_of(dst))
                    to = topo_.node_of(dst);
                if (!to || *to == node) return;  // to the outside world: the end of our path
                next = capturing(*to, ts, false,
                                 [](const PointId& p) { return p.kind != PointKind::pod_veth; });
                for (const PointId& v : veth_on(dst, *to, ts)) next.push_back(v);
                same_node = false;
            }
        } else {
            const auto veth = topo_.pod_veth(dst);
            if (!veth || veth->node != node) return;  // where it should go next is a guess
            if (e.at.kind == PointKind::nic && s.encapsulated()) {
                const PointKind t = tunnel_point(s.encap);
                next = capturing(node, ts, false, [&](const PointId& p) { return p.kind == t; });
            }
            if (next.empty()) next = veth_on(dst, node, ts);
        }
        if (next.empty()) return;  // nothing was watching where it should have gone

        std::string never;
        for (const PointId& p : next) never += (never.empty() ? "" : " or ") + w_.point(p);
        std::string message = w_.flow(f, e.reverse) + ": " + plural(e.count, "packet") +
                              " seen on " + w_.point(e.at) + ", never on " + never +
                              " (capturing then)";
        std::string where = same_node
                                ? "on " + w_.name(node) + " after " + w_.name(e.at.interface) +
                                      ", before " + w_.name(next.front().interface)
                                : "after " + w_.point(e.at) + ", before " + w_.point(next.front());
        std::string why;
        if (same_node) why = route_reason(node, dst);
        if (why.empty() && e.transmit) why = mtu_reason(f, e.reverse ? f.rev : f.fwd, node, dst);
        add(DiagnosisKind::dropped, f, node, std::move(where), std::move(message), std::move(why),
            e.count, e.first_ns, e.at, std::move(next));
    }

    // The node a packet of this direction left from, when the example path shows
    // it.
    static std::optional<std::uint16_t> sender(const Path& p) {
        if (p.sightings.empty()) return std::nullopt;
        return p.sightings.front().at.node;
    }

    void mtu(const Flow& f) {
        for (const IcmpErrorLink& l : f.icmp_errors) {
            const Sighting& err = l.error;
            const bool v6 = err.proto == kIcmp6;
            const bool frag_needed = err.proto == kIcmp && err.icmp_type == 3 && err.icmp_code == 4;
            const bool too_big = v6 && err.icmp_type == 2;
            if (!frag_needed && !too_big) continue;
            const IpAddr from = addr(err.src, err.ip_version);
            const std::uint16_t node = topo_.node_of(from).value_or(err.at.node);
            Encap encap = f.encap;
            if (const NodeFacts* facts = topo_.facts(node);
                encap == Encap::none && facts && !facts->tunnel_types.empty())
                encap = encap_of_type(facts->tunnel_types.front());
            const FlowDir& d = l.reverse ? f.rev : f.fwd;
            std::string message =
                w_.flow(f, l.reverse) + ": " + (v6 ? "ICMPv6 packet-too-big" : "ICMP frag-needed") +
                " from " + w_.label(from) + " (mtu " + std::to_string(err.icmp_mtu) + ") for a " +
                (d.max_df_length ? std::to_string(d.max_df_length) + "-byte " : "") + "DF packet";
            std::string where =
                "on " + w_.name(node) + ", next-hop MTU " + std::to_string(err.icmp_mtu);
            if (const unsigned o = overhead(encap, f.version)) {
                const std::string named =
                    std::string(encap_name(encap)) + " overhead " + std::to_string(o);
                message += " (" + named + ')';
                where += " (" + named + ')';
            }
            std::string why;
            if (d.max_df_length > err.icmp_mtu && err.icmp_mtu > 0)
                why = "DF set, " + std::to_string(d.max_df_length) + " > " +
                      std::to_string(err.icmp_mtu);
            add(DiagnosisKind::mtu, f, node, std::move(where), std::move(message), std::move(why),
                l.count, err.ts_ns);
        }
        if (f.kind == PathKind::same_node || f.kind == PathKind::unknown) return;
        for (const bool reverse : {false, true}) {
            const FlowDir& d = reverse ? f.rev : f.fwd;
            const auto node = sender(reverse ? f.example_rev : f.example_fwd);
            const NodeFacts* facts = node ? topo_.facts(*node) : nullptr;
            if (!facts || d.max_df_length == 0) continue;
            const auto [iface, mtu] = tunnel_mtu(*facts, f.encap);
            if (mtu == 0 || d.max_df_length <= mtu) continue;
            std::string where = mtu_text(iface, mtu, f.encap, f.version);
            std::string message = w_.flow(f, reverse) + ": DF packets up to " +
                                  std::to_string(d.max_df_length) + " bytes, " + where;
            std::string why = "DF set, " + std::to_string(d.max_df_length) + " > " + iface +
                              " MTU " + std::to_string(mtu);
            // Only the largest DF packet is kept per direction: how many were too big
            // is unknown.
            add(DiagnosisKind::mtu, f, *node, std::move(where), std::move(message), std::move(why),
                0, d.max_df_ns);
        }
    }

    // No grace period for requests sent just before the captures stopped: a reply
    // that came after the end is reported missing. Kept simple on purpose; the
    // time says when it was.
    void no_reply(const Flow& f) {
        std::string what;
        if (f.proto == kTcp && f.syn && !f.syn_ack)
            what = "SYN never answered by a SYN-ACK";
        else if ((f.proto == kIcmp || f.proto == kIcmp6) && f.echo_request && !f.echo_reply)
            what = "echo requests never answered";
        else if (f.proto == kUdp && f.fwd.packets > 0 && f.rev.packets == 0 && f.server.port == 53)
            what = "DNS queries never answered";
        else
            return;
        std::uint16_t node = 0;
        std::string where;
        std::optional<PointId> last;
        if (!f.example_fwd.sightings.empty()) {
            last = f.example_fwd.sightings.back().at;
            node = last->node;
            where = "last seen on " + w_.point(*last);
        }
        add(DiagnosisKind::no_reply, f, node, std::move(where),
            w_.flow(f) + ": " + plural(f.fwd.packets, "packet") + ", " + what, "", f.fwd.packets,
            f.first_ns, last);
    }

    void egress_without_snat(const Flow& f) {
        if (f.kind == PathKind::same_node || f.kind == PathKind::service || f.snat) return;
        for (const Sighting& s : f.example_fwd.sightings) {
            if (s.at.kind != PointKind::nic || s.encapsulated() || s.ip_version == 0) continue;
            const IpAddr src = addr(s.src, s.ip_version), dst = addr(s.dst, s.ip_version);
            const auto pool = topo_.in_pool(dst);
            if (!topo_.is_pod(src) || !pool || *pool || topo_.node_of(dst)) continue;
            const NodeFacts* facts = topo_.facts(s.at.node);
            std::string why;
            if (facts && facts->nat_outgoing_known && !facts->nat_outgoing)
                why = "no natOutgoing MASQUERADE rule hooked on " + w_.name(s.at.node);
            add(DiagnosisKind::egress_without_snat, f, s.at.node, "on " + w_.point(s.at),
                w_.flow(f) + ": pod source address left " + w_.point(s.at) + " unchanged (no SNAT)",
                std::move(why), f.fwd.packets, f.first_ns, s.at);
            return;
        }
    }

    void unencrypted(const Flow& f) {
        if (!opt_.expect_encrypted) return;
        const std::uint64_t clear = f.fwd.clear_on_wire + f.rev.clear_on_wire;
        if (clear == 0) return;
        const Sighting* on_nic = nullptr;
        for (const Path* p : {&f.example_fwd, &f.example_rev})
            for (const Sighting& s : p->sightings)
                if (!on_nic && s.at.kind == PointKind::nic && s.encap != Encap::wireguard)
                    on_nic = &s;
        std::uint16_t node = 0;
        std::string where = "on the wire";
        if (on_nic) {
            node = on_nic->at.node;
            where = "on " + w_.point(on_nic->at) + " (" +
                    (on_nic->encapsulated() ? encap_name(on_nic->encap) : "direct") + ')';
        }
        std::string why;
        if (const NodeFacts* facts = on_nic ? topo_.facts(node) : nullptr;
            facts && !facts->has_wireguard())
            why = "no wireguard.cali in " + w_.name(node) + "'s facts";
        add(DiagnosisKind::unencrypted, f, node, where,
            w_.flow(f) + ": " + plural(clear, "packet") + " with pod IPs in clear " + where,
            std::move(why), clear, f.first_ns,
            on_nic ? std::optional<PointId>(on_nic->at) : std::nullopt);
    }

    const FlowTable& flows_;
    const Topology& topo_;
    const DiagnoseOptions& opt_;
    Writer w_;
    std::vector<Diagnosis> out_;
};

}  // namespace

std::vector<Diagnosis> diagnose(const FlowTable& flows, const Topology& topo,
                                const DiagnoseOptions& opt) {
    return Diagnoser(flows, topo, opt).run();
}

}  // namespace podtrace::trace
