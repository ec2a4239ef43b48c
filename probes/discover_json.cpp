#include "probes/discover_json.hpp"

#include <nlohmann/json.hpp>

namespace podtrace::probes {
namespace {

using nlohmann::json;

json or_null(const std::string& s) {
    return s.empty() ? json(nullptr) : json(s);
}
template <typename T>
json or_null(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}

json tuple_json(const FiveTuple& t) {
    return {
        {"proto", t.proto}, {"src", t.src}, {"sport", t.sport}, {"dst", t.dst}, {"dport", t.dport}};
}

json mapping_json(const NatMapping& m) {
    return {{"original", tuple_json(m.original)},
            {"reply", tuple_json(m.reply)},
            {"snat", m.snat},
            {"dnat", m.dnat},
            {"nat_src", or_null(m.nat_src)},
            {"nat_sport", m.snat ? json(m.nat_sport) : json(nullptr)},
            {"nat_dst", or_null(m.nat_dst)},
            {"nat_dport", m.dnat ? json(m.nat_dport) : json(nullptr)},
            {"id", m.id},
            {"timeout", m.timeout},
            {"tcp_state", or_null(m.tcp_state)}};
}

json link_json(const LinkInfo& l) {
    return {{"name", l.name},          {"ifindex", l.ifindex},
            {"kind", l.kind},          {"mtu", l.mtu},
            {"mac", or_null(l.mac)},   {"oper_state", l.oper_state},
            {"addresses", l.addresses}};
}

json facts_to_json(const NodeFacts& f) {
    json j;
    if (f.pod_view) {
        const PodView& v = *f.pod_view;
        j["pod_view"] = {{"interface", v.interface},
                         {"ifindex", v.ifindex},
                         {"mtu", v.mtu},
                         {"addresses", v.addresses},
                         {"gateway", v.gateway},
                         {"onlink", v.onlink},
                         {"hostname", or_null(v.hostname)},
                         {"namespace", or_null(v.pod_namespace)}};
    } else {
        j["pod_view"] = nullptr;
    }
    if (f.nic) {
        j["nic"] = link_json(f.nic->link);
        j["nic"]["gateway"] = or_null(f.nic->gateway);
    } else {
        j["nic"] = nullptr;
    }
    j["pods"] = json::array();
    for (const PodInterface& p : f.pods) {
        json pj = link_json(p.link);
        pj["ips"] = p.pod_ips;
        pj["peer_ifindex"] = p.peer_ifindex;
        pj["peer_netnsid"] = or_null(p.peer_netnsid);
        pj["pod"] = p.pod ? json{{"namespace", p.pod->ns},
                                 {"name", p.pod->pod},
                                 {"source", "proc"},
                                 {"verified", p.pod->verified}}
                          : json(nullptr);
        pj["pod_unnamed"] = or_null(p.pod_unnamed);
        j["pods"].push_back(std::move(pj));
    }
    j["tunnels"] = json::array();
    for (const Tunnel& t : f.tunnels) {
        json tj = link_json(t.link);
        tj.update({{"type", t.type},
                   {"vni", or_null(t.vni)},
                   {"dst_port", or_null(t.dst_port)},
                   {"local", or_null(t.local)},
                   {"table", or_null(t.table)},
                   {"rule_priority", or_null(t.rule_priority)}});
        j["tunnels"].push_back(std::move(tj));
    }
    j["blocks"] = json::array();
    for (const Block& b : f.blocks)
        j["blocks"].push_back({{"cidr", b.cidr},
                               {"protocol", protocol_name(b.protocol)},
                               {"protocol_id", b.protocol},
                               {"table", b.table}});
    j["remote_routes"] = json::array();
    for (const RemoteRoute& r : f.remote_routes)
        j["remote_routes"].push_back({{"dst", r.dst},
                                      {"via", or_null(r.via)},
                                      {"dev", r.dev},
                                      {"ifindex", r.ifindex},
                                      {"onlink", r.onlink},
                                      {"protocol", protocol_name(r.protocol)},
                                      {"protocol_id", r.protocol},
                                      {"table", r.table},
                                      {"mode", r.mode}});
    if (f.nat_outgoing) {
        json rules = json::array();
        for (const MasqRule& r : f.nat_outgoing->rules)
            rules.push_back({{"family", r.family},
                             {"table", r.table},
                             {"chain", r.chain},
                             {"handle", r.handle},
                             {"src", or_null(r.src)},
                             {"src_negated", r.src_negated},
                             {"src_set", or_null(r.src_set)},
                             {"dst", or_null(r.dst)},
                             {"dst_negated", r.dst_negated},
                             {"dst_set", or_null(r.dst_set)},
                             {"random_fully", or_null(r.random_fully)},
                             {"matches", r.matches}});
        j["nat_outgoing"] = {{"hooked", f.nat_outgoing->hooked}, {"rules", std::move(rules)}};
    } else {
        j["nat_outgoing"] = nullptr;
    }
    j["nat_outgoing_reason"] = or_null(f.nat_outgoing_reason);
    j["nat_ruleset_read"] = f.nat_ruleset_read;
    return j;
}

}  // namespace

std::string conntrack_json(const FiveTuple& query, const std::optional<NatMapping>& m, int indent) {
    return json{{"query", to_string(query)}, {"conntrack", m ? mapping_json(*m) : json(nullptr)}}
        .dump(indent, ' ', true, json::error_handler_t::replace);
}

std::string facts_json(const NodeFacts& facts, int indent) {
    // An interface name need not be UTF-8: such bytes become U+FFFD (dump() would throw), and
    // the document is plain ASCII.
    return facts_to_json(facts).dump(indent, ' ', true, json::error_handler_t::replace);
}

}  // namespace podtrace::probes
