#include "trace/topology.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "trace/json_read.hpp"

namespace podtrace::trace {

using nlohmann::json;

bool NodeFacts::has_wireguard() const {
    return std::find(tunnel_types.begin(), tunnel_types.end(), "wireguard") != tunnel_types.end();
}

unsigned NodeFacts::mtu(std::string_view interface) const {
    if (nic && nic->name == interface) return nic->mtu;
    for (const FactsLink& t : tunnels)
        if (t.name == interface) return t.mtu;
    return 0;
}

const NodeRoute* NodeFacts::route_to(const IpAddr& dst) const {
    const NodeRoute* best = nullptr;
    for (const NodeRoute& r : routes)
        if (r.dst.contains(dst) && (!best || r.dst.prefix > best->dst.prefix)) best = &r;
    return best;
}

namespace {

using namespace json_read;

void object(const json& v, const std::string& where) {
    if (!v.is_object()) wrong(where, "an object", v);
}

std::string text_of(const json& v, const std::string& where) {
    if (!v.is_string()) wrong(where, "a string", v);
    return v.get<std::string>();
}

Cidr cidr_of(const std::string& text, const std::string& where) {
    auto c = Cidr::parse(text);
    if (!c) throw Bad{where + ": \"" + text + "\" is not an address or prefix"};
    return *c;
}

FactsLink link_of(const json& v, const std::string& at) {
    object(v, at);
    FactsLink l;
    l.name = required_string(v, "name", at);
    l.mtu = unsigned_at(v, "mtu", at);
    each(v, "addresses", at, [&](const json& a, const std::string& where) {
        const std::string text = text_of(a, where);
        Cidr c = cidr_of(text, where);
        // An interface address keeps its host part ("192.168.10.101/24"): it is the node's own.
        c.base = *IpAddr::parse(text.substr(0, text.find('/')));
        l.addresses.push_back(c);
    });
    return l;
}

NodeFacts read_facts(const json& doc) {
    if (!doc.is_object()) wrong("document", "an object", doc);
    NodeFacts f;
    if (const json* nic = member(doc, "nic")) f.nic = link_of(*nic, "nic");
    if (const json* v = member(doc, "pod_view")) {
        object(*v, "pod_view");
        FactsLink l;
        l.name = required_string(*v, "interface", "pod_view");
        l.mtu = unsigned_at(*v, "mtu", "pod_view");
        each(*v, "addresses", "pod_view", [&](const json& a, const std::string& where) {
            l.addresses.push_back(cidr_of(text_of(a, where), where));
        });
        f.pod_side = std::move(l);
    }
    each(doc, "pods", "", [&](const json& p, const std::string& at) {
        FactsLink l = link_of(p, at);
        if (const json* pod = member(p, "pod")) {
            const std::string where = key_path(at, "pod");
            object(*pod, where);
            f.pod_names.push_back({l.name, required_string(*pod, "namespace", where),
                                   required_string(*pod, "name", where)});
        }
        std::vector<IpAddr> ips;
        each(p, "ips", at, [&](const json& a, const std::string& where) {
            const std::string text = text_of(a, where);
            auto ip = IpAddr::parse(text);
            if (!ip) throw Bad{where + ": \"" + text + "\" is not an IP address"};
            ips.push_back(*ip);
        });
        f.pods.emplace_back(std::move(l.name), std::move(ips));
    });
    each(doc, "tunnels", "", [&](const json& t, const std::string& at) {
        f.tunnels.push_back(link_of(t, at));
        f.tunnel_types.push_back(string_at(t, "type", at));
    });
    each(doc, "blocks", "", [&](const json& b, const std::string& at) {
        object(b, at);
        const Cidr dst = cidr_of(required_string(b, "cidr", at), key_path(at, "cidr"));
        std::string text = "blackhole " + dst.str();
        if (std::string proto = string_at(b, "protocol", at); !proto.empty())
            text += " proto " + proto;
        f.routes.push_back({dst, "", "blackhole", std::move(text)});
    });
    each(doc, "remote_routes", "", [&](const json& r, const std::string& at) {
        object(r, at);
        const Cidr dst = cidr_of(required_string(r, "dst", at), key_path(at, "dst"));
        NodeRoute route{dst, required_string(r, "dev", at), string_at(r, "mode", at), dst.str()};
        if (std::string via = string_at(r, "via", at); !via.empty()) route.text += " via " + via;
        route.text += " dev " + route.dev;
        if (std::string proto = string_at(r, "protocol", at); !proto.empty())
            route.text += " proto " + proto;
        if (bool_at(r, "onlink", at)) route.text += " onlink";
        f.routes.push_back(std::move(route));
    });
    if (const json* nat = member(doc, "nat_outgoing")) {
        object(*nat, "nat_outgoing");
        bool rules = false;
        each(*nat, "rules", "nat_outgoing", [&](const json& r, const std::string& at) {
            object(r, at);
            rules = true;
        });
        f.nat_outgoing = rules && bool_at(*nat, "hooked", "nat_outgoing");
        f.nat_outgoing_known = true;
    } else if (member(doc, "nat_ruleset_read")) {
        // Read: no natOutgoing chain. Not read: nft could not be asked, nothing is known.
        f.nat_outgoing_known = bool_at(doc, "nat_ruleset_read", "");
    } else {
        f.nat_outgoing_known = string_at(doc, "nat_outgoing_reason", "").empty();
    }
    return f;
}

IpAddr ip_of(const decode::Addr& a, std::uint8_t version) {
    IpAddr ip{a, version};
    if (version == 4) std::memset(ip.addr.data() + 4, 0, ip.addr.size() - 4);
    return ip;
}

}  // namespace

std::expected<NodeFacts, Error> parse_node_facts(std::string_view text) {
    auto doc = json_read::parse(text);
    if (!doc) return std::unexpected(doc.error());
    try {
        return read_facts(*doc);
    } catch (const Bad& b) {
        return std::unexpected(Error{b.message});
    } catch (const json::exception& e) {
        return std::unexpected(Error{std::string(e.what())});
    }
}

void Topology::set_facts(std::uint16_t node, NodeFacts facts) {
    if (facts.pod_side) names_->mark_pod_side(node, names_->intern(facts.pod_side->name));
    if (facts.nic)
        for (const Cidr& c : facts.nic->addresses) node_addr_.insert_or_assign(c.base, node);
    for (const FactsLink& t : facts.tunnels)
        for (const Cidr& c : t.addresses) node_addr_.insert_or_assign(c.base, node);
    facts_.insert_or_assign(node, std::move(facts));
}

std::size_t Topology::find_point(const PointId& p) {
    std::size_t i = 0;
    while (i < points_.size() && !(points_[i].point == p)) ++i;
    if (i == points_.size()) {
        points_.push_back({p});
        learned_.emplace_back();
    }
    return i;
}

inline std::size_t Topology::point_index(const PointId& p) {
    const std::uint32_t ids = std::uint32_t{p.node} << 16 | p.interface;
    std::uint32_t& recent = recent_[(ids * 0x9e3779b1u) >> (32 - kRecentBits)];
    if (recent == 0 || !(points_[recent - 1].point == p))
        recent = static_cast<std::uint32_t>(find_point(p) + 1);
    return recent - 1;
}

void Topology::learn_pod(std::size_t point, const decode::Addr& a, std::uint8_t version,
                         PointId at) {
    pod_veth_.try_emplace(ip_of(a, version), at);
    learned_[point].pod = {a, version, true};
}

void Topology::learn_node(std::size_t point, const decode::Addr& a, std::uint8_t version,
                          std::uint16_t node) {
    node_addr_.try_emplace(ip_of(a, version), node);
    learned_[point].node = {a, version, true};
}

void Topology::cover(PointId p, std::int64_t from_ns, std::int64_t to_ns) {
    PointCoverage& c = points_[point_index(p)];
    c.first_ns = std::min(c.first_ns, from_ns);
    c.last_ns = std::max(c.last_ns, to_ns);
}

void Topology::saw(const Sighting& s) {
    const std::size_t i = point_index(s.at);
    PointCoverage& c = points_[i];
    const std::int64_t ts = s.ts_ns;
    c.first_ns = std::min(c.first_ns, ts);
    c.last_ns = std::max(c.last_ns, ts);
    ++c.sightings;
    const bool in = s.direction == core::Direction::inbound;
    const bool out = s.direction == core::Direction::outbound;
    if (!in && !out) return;
    if (s.at.kind == PointKind::pod_veth && s.ip_version != 0) {
        const decode::Addr& pod = in ? s.src : s.dst;
        if (!learned_[i].pod.is(pod, s.ip_version)) learn_pod(i, pod, s.ip_version, s.at);
    } else if (s.at.kind == PointKind::nic && s.encapsulated()) {
        const decode::Addr& node = out ? s.outer_src : s.outer_dst;
        if (!learned_[i].node.is(node, s.outer_version))
            learn_node(i, node, s.outer_version, s.at.node);
    }
}

const NodeFacts* Topology::facts(std::uint16_t node) const {
    auto it = facts_.find(node);
    return it == facts_.end() ? nullptr : &it->second;
}

bool Topology::captured(PointId p, std::int64_t ts) const {
    for (const PointCoverage& c : points_)
        if (c.point == p) return c.first_ns <= ts && ts <= c.last_ns;
    return false;
}

std::vector<PointId> Topology::captured_on(std::uint16_t node, std::int64_t ts) const {
    std::vector<PointId> out;
    for (const PointCoverage& c : points_)
        if (c.point.node == node && c.first_ns <= ts && ts <= c.last_ns) out.push_back(c.point);
    return out;
}

std::vector<std::uint16_t> Topology::nodes() const {
    std::vector<std::uint16_t> out;
    for (const PointCoverage& c : points_) out.push_back(c.point.node);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::optional<PointId> Topology::pod_veth(const IpAddr& pod) const {
    if (auto it = pod_veth_.find(pod); it != pod_veth_.end()) return it->second;
    for (const auto& [node, f] : facts_)
        for (const auto& [veth, ips] : f.pods)
            if (std::find(ips.begin(), ips.end(), pod) != ips.end())
                return make_point(*names_, names_->name(node), veth);
    if (!inventory_) return std::nullopt;
    const Pod* p = inventory_->pod_by_ip(pod);
    if (!p || p->host_network || p->node.empty()) return std::nullopt;
    // Only a node that was captured: a point invented elsewhere would read as "not seen there".
    const auto node = names_->find(p->node);
    if (!node) return std::nullopt;
    for (const PointCoverage& c : points_)
        if (c.point.node == *node) return make_point(*names_, p->node, p->veth);
    return std::nullopt;
}

std::optional<std::uint16_t> Topology::node_of(const IpAddr& a) const {
    if (auto p = pod_veth(a)) return p->node;
    if (auto it = node_addr_.find(a); it != node_addr_.end()) return it->second;
    // A pod address in a node's own block, though no veth of it was seen.
    for (const auto& [node, f] : facts_)
        for (const NodeRoute& r : f.routes)
            if (r.mode == "blackhole" && r.dst.contains(a)) return node;
    if (!inventory_) return std::nullopt;
    std::string_view name;
    if (const Pod* p = inventory_->pod_by_ip(a))
        name = p->node;
    else if (const K8sNode* n = inventory_->node_by_ip(a))
        name = n->name;
    if (name.empty()) return std::nullopt;
    return names_->find(name);
}

bool Topology::is_pod(const IpAddr& a) const {
    if (pod_veth_.contains(a)) return true;
    if (node_addr_.contains(a)) return false;  // a tunnel address lies inside the node's block
    if (inventory_) {
        if (const Pod* p = inventory_->pod_by_ip(a)) return !p->host_network;
        if (inventory_->node_by_ip(a)) return false;
    }
    for (const auto& [node, f] : facts_)
        for (const auto& [veth, ips] : f.pods)
            if (std::find(ips.begin(), ips.end(), a) != ips.end()) return true;
    return in_pool(a).value_or(false);
}

std::optional<bool> Topology::in_pool(const IpAddr& a) const {
    bool known = false;
    for (const auto& [node, f] : facts_) {
        // Calico cuts a pool into blocks of one size; a direct route of another size is not a
        // block (BIRD also carries advertised service or external prefixes).
        std::uint8_t block = 0;
        for (const NodeRoute& r : f.routes)
            if (r.mode == "blackhole") block = r.dst.prefix;
        for (const NodeRoute& r : f.routes) {
            if (r.mode == "direct" && r.dst.prefix != block) continue;
            known = true;
            if (r.dst.contains(a)) return true;
        }
    }
    if (inventory_) {
        // With calico-ipam the blocks need not lie inside the podCIDRs; a pod's IP is pool's.
        if (const Pod* p = inventory_->pod_by_ip(a); p && !p->host_network) return true;
        for (const K8sNode& n : inventory_->nodes())
            for (const Cidr& c : n.pod_cidrs) {
                known = true;
                if (c.contains(a)) return true;
            }
    }
    if (!known) return std::nullopt;
    return false;
}

namespace {

std::string facts_pod(const NodeFacts& f, std::string_view veth) {
    for (const FactsPodName& n : f.pod_names)
        if (n.veth == veth) return n.ns + "/" + n.name;
    return "";
}

}  // namespace

std::string Topology::pod_at(PointId p) const {
    if (p.kind != PointKind::pod_veth) return "";
    const std::string& node = names_->name(p.node);
    const std::string& veth = names_->name(p.interface);
    if (inventory_)
        if (const Pod* pod = inventory_->pod_by_veth(node, veth)) return pod->ns + "/" + pod->name;
    const NodeFacts* f = facts(p.node);
    return f ? facts_pod(*f, veth) : "";
}

std::string Topology::name_of(const IpAddr& a) const {
    if (inventory_)
        if (std::string n = inventory_->name_of(a); !n.empty()) return n;
    if (auto it = pod_veth_.find(a); it != pod_veth_.end()) {
        if (std::string n = pod_at(it->second); !n.empty()) return n;
        return "pod behind " + names_->name(it->second.interface) + " on " +
               names_->name(it->second.node);
    }
    for (const auto& [node, f] : facts_)
        for (const auto& [veth, ips] : f.pods)
            if (std::find(ips.begin(), ips.end(), a) != ips.end()) {
                if (std::string n = facts_pod(f, veth); !n.empty()) return n;
                return "pod behind " + veth + " on " + names_->name(node);
            }
    if (auto it = node_addr_.find(a); it != node_addr_.end())
        return names_->name(it->second) + " (node)";
    return "";
}

}  // namespace podtrace::trace
