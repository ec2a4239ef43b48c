#include "trace/inventory.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "trace/json_read.hpp"

namespace podtrace::trace {

using nlohmann::json;

std::string calico_veth_name(std::string_view ns, std::string_view pod) {
    std::string key;
    key.reserve(ns.size() + 1 + pod.size());
    key.append(ns).append(".").append(pod);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(key.data(), key.size(), md, &len, EVP_sha1(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "cali";
    for (unsigned i = 0; out.size() < 15 && i < len; ++i) {
        out += kHex[md[i] >> 4];
        if (out.size() < 15) out += kHex[md[i] & 0xf];
    }
    return out;
}

namespace {

using namespace json_read;

IpAddr ip_of(const std::string& text, const std::string& at) {
    auto a = IpAddr::parse(text);
    if (!a) throw Bad{at + ": \"" + text + "\" is not an IP address"};
    return *a;
}

std::uint16_t port_of(const json& v, const std::string& at) {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 65535)
        throw Bad{at + ": " + v.dump() + " is not a port number"};
    return static_cast<std::uint16_t>(v.get<std::int64_t>());
}

const json& metadata(const json& item, const std::string& at) {
    const json* m = object_at(item, "metadata", at);
    if (!m) throw Bad{key_path(at, "metadata") + ": missing"};
    return *m;
}

Pod read_pod(const json& item, const std::string& at) {
    Pod p;
    const json& md = metadata(item, at);
    p.name = required_string(md, "name", at + ".metadata");
    p.ns = string_at(md, "namespace", at + ".metadata", "default");
    if (const json* spec = object_at(item, "spec", at)) {
        p.node = string_at(*spec, "nodeName", at + ".spec");
        p.host_network = bool_at(*spec, "hostNetwork", at + ".spec");
    }
    if (const json* st = object_at(item, "status", at)) {
        const std::string sat = at + ".status";
        if (const json* ips = array_at(*st, "podIPs", sat)) {
            for (std::size_t i = 0; i < ips->size(); ++i) {
                const std::string iat = sat + ".podIPs[" + std::to_string(i) + "]";
                const json& e = (*ips)[i];
                if (!e.is_object()) wrong(iat, "an object", e);
                p.ips.push_back(ip_of(required_string(e, "ip", iat), iat + ".ip"));
            }
        }
        if (p.ips.empty()) {
            const std::string ip = string_at(*st, "podIP", sat);
            if (!ip.empty()) p.ips.push_back(ip_of(ip, sat + ".podIP"));
        }
    }
    if (!p.host_network) p.veth = calico_veth_name(p.ns, p.name);
    return p;
}

Service read_service(const json& item, const std::string& at) {
    Service s;
    const json& md = metadata(item, at);
    s.name = required_string(md, "name", at + ".metadata");
    s.ns = string_at(md, "namespace", at + ".metadata", "default");
    const json* spec = object_at(item, "spec", at);
    if (!spec) return s;
    const std::string sat = at + ".spec";
    std::vector<std::pair<std::string, std::string>> ips;  // text, where it was
    if (const json* list = array_at(*spec, "clusterIPs", sat)) {
        for (std::size_t i = 0; i < list->size(); ++i) {
            const std::string iat = sat + ".clusterIPs[" + std::to_string(i) + "]";
            if (!(*list)[i].is_string()) wrong(iat, "a string", (*list)[i]);
            ips.emplace_back((*list)[i].get<std::string>(), iat);
        }
    }
    if (ips.empty()) ips.emplace_back(string_at(*spec, "clusterIP", sat), sat + ".clusterIP");
    for (const auto& [text, where] : ips)
        if (!text.empty() && text != "None") s.cluster_ips.push_back(ip_of(text, where));
    if (const json* ports = array_at(*spec, "ports", sat)) {
        for (std::size_t i = 0; i < ports->size(); ++i) {
            const std::string pat = sat + ".ports[" + std::to_string(i) + "]";
            const json& e = (*ports)[i];
            if (!e.is_object()) wrong(pat, "an object", e);
            ServicePort sp;
            sp.name = string_at(e, "name", pat);
            sp.protocol = string_at(e, "protocol", pat, "TCP");
            const json* port = member(e, "port");
            if (!port) throw Bad{pat + ".port: missing"};
            sp.port = port_of(*port, pat + ".port");
            // The API server defaults targetPort to port; a name resolves per endpoint pod.
            const json* target = member(e, "targetPort");
            if (!target)
                sp.target_port = sp.port;
            else if (!target->is_string())
                sp.target_port = port_of(*target, pat + ".targetPort");
            s.ports.push_back(std::move(sp));
        }
    }
    return s;
}

K8sNode read_node(const json& item, const std::string& at) {
    K8sNode n;
    const json& md = metadata(item, at);
    const std::string mat = at + ".metadata";
    n.name = required_string(md, "name", mat);
    if (const json* ann = object_at(md, "annotations", mat)) {
        const std::string aat = mat + ".annotations";
        for (const char* key :
             {"projectcalico.org/IPv4Address", "projectcalico.org/IPv4IPIPTunnelAddr",
              "projectcalico.org/IPv4VXLANTunnelAddr",
              "projectcalico.org/IPv4WireguardInterfaceAddr"}) {
            std::string text = string_at(*ann, key, aat);
            if (text.empty()) continue;
            // IPv4Address carries the prefix of the node's subnet: "192.168.10.101/24".
            const std::string addr = text.substr(0, text.find('/'));
            n.calico_addresses.push_back(ip_of(addr, aat + "[\"" + key + "\"]"));
        }
    }
    if (const json* spec = object_at(item, "spec", at)) {
        const std::string sat = at + ".spec";
        std::vector<std::pair<std::string, std::string>> cidrs;
        if (const json* list = array_at(*spec, "podCIDRs", sat)) {
            for (std::size_t i = 0; i < list->size(); ++i) {
                const std::string iat = sat + ".podCIDRs[" + std::to_string(i) + "]";
                if (!(*list)[i].is_string()) wrong(iat, "a string", (*list)[i]);
                cidrs.emplace_back((*list)[i].get<std::string>(), iat);
            }
        }
        if (cidrs.empty()) cidrs.emplace_back(string_at(*spec, "podCIDR", sat), sat + ".podCIDR");
        for (const auto& [text, where] : cidrs) {
            if (text.empty()) continue;
            auto c = Cidr::parse(text);
            if (!c) throw Bad{where + ": \"" + text + "\" is not a CIDR"};
            n.pod_cidrs.push_back(*c);
        }
    }
    if (const json* st = object_at(item, "status", at)) {
        const std::string sat = at + ".status";
        if (const json* list = array_at(*st, "addresses", sat)) {
            for (std::size_t i = 0; i < list->size(); ++i) {
                const std::string iat = sat + ".addresses[" + std::to_string(i) + "]";
                const json& e = (*list)[i];
                if (!e.is_object()) wrong(iat, "an object", e);
                const std::string type = string_at(e, "type", iat);
                if (type != "InternalIP" && type != "ExternalIP") continue;
                n.addresses.push_back(ip_of(required_string(e, "address", iat), iat + ".address"));
            }
        }
    }
    return n;
}

// Calls `read(item, place)` for the one object or every item of a List of `kind`.
template <typename Read>
std::expected<void, Error> each_item(std::string_view text, const std::string& what,
                                     const std::string& kind, Read read) {
    auto parsed = parse(text);
    if (!parsed) return std::unexpected(parsed.error());
    const json& doc = *parsed;
    const std::string expected =
        "expected " + what + " (kind " + kind + " or List of " + kind + ")";
    auto kind_of = [](const json& j) {
        const json* k = j.is_object() ? member(j, "kind") : nullptr;
        return k && k->is_string() ? k->get<std::string>() : std::string();
    };
    auto got = [](const std::string& k) {
        return k.empty() ? std::string("no kind") : "kind " + k;
    };
    try {
        if (!doc.is_object()) throw Bad{expected + ", got a JSON " + std::string(doc.type_name())};
        const std::string k = kind_of(doc);
        if (k == kind) {
            read(doc, std::string(kind));
            return {};
        }
        if (k != "List" && k != kind + "List") throw Bad{expected + ", got " + got(k)};
        const json* items = array_at(doc, "items", "");
        if (!items) return {};
        for (std::size_t i = 0; i < items->size(); ++i) {
            const std::string at = "items[" + std::to_string(i) + "]";
            const json& item = (*items)[i];
            if (!item.is_object()) wrong(at, "an object", item);
            // kubectl's List gives every item its kind; items without one are taken as `kind`.
            const std::string ik = kind_of(item);
            if (!ik.empty() && ik != kind) throw Bad{at + ": " + expected + ", got " + got(ik)};
            read(item, at);
        }
    } catch (const Bad& b) {
        return std::unexpected(Error{b.message});
    } catch (const json::exception& e) {
        return std::unexpected(Error{e.what()});
    }
    return {};
}

}  // namespace

std::expected<void, Error> Inventory::add_pods(std::string_view text) {
    std::vector<Pod> got;
    auto r = each_item(text, "pods", "Pod", [&](const json& j, const std::string& at) {
        got.push_back(read_pod(j, at));
    });
    if (!r) return r;
    std::move(got.begin(), got.end(), std::back_inserter(pods_));
    index();
    return {};
}

std::expected<void, Error> Inventory::add_services(std::string_view text) {
    std::vector<Service> got;
    auto r = each_item(text, "services", "Service", [&](const json& j, const std::string& at) {
        got.push_back(read_service(j, at));
    });
    if (!r) return r;
    std::move(got.begin(), got.end(), std::back_inserter(services_));
    index();
    return {};
}

std::expected<void, Error> Inventory::add_nodes(std::string_view text) {
    std::vector<K8sNode> got;
    auto r = each_item(text, "nodes", "Node", [&](const json& j, const std::string& at) {
        got.push_back(read_node(j, at));
    });
    if (!r) return r;
    std::move(got.begin(), got.end(), std::back_inserter(nodes_));
    index();
    return {};
}

void Inventory::index() {
    pod_ip_.clear();
    service_ip_.clear();
    node_ip_.clear();
    // First entry wins, except that a pod with its own address displaces a host-networked one.
    for (std::size_t i = 0; i < pods_.size(); ++i)
        for (const IpAddr& a : pods_[i].ips) {
            auto [it, fresh] = pod_ip_.try_emplace(a, i);
            if (!fresh && pods_[it->second].host_network && !pods_[i].host_network) it->second = i;
        }
    for (std::size_t i = 0; i < services_.size(); ++i)
        for (const IpAddr& a : services_[i].cluster_ips) service_ip_.try_emplace(a, i);
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        for (const IpAddr& a : nodes_[i].addresses) node_ip_.try_emplace(a, i);
        for (const IpAddr& a : nodes_[i].calico_addresses) node_ip_.try_emplace(a, i);
    }
}

const Pod* Inventory::pod_by_ip(const IpAddr& a) const {
    auto it = pod_ip_.find(a);
    return it == pod_ip_.end() ? nullptr : &pods_[it->second];
}

const Pod* Inventory::pod_by_veth(std::string_view node, std::string_view veth) const {
    auto it = std::find_if(pods_.begin(), pods_.end(),
                           [&](const Pod& p) { return p.node == node && p.veth == veth; });
    return it == pods_.end() || veth.empty() ? nullptr : &*it;
}

const Pod* Inventory::pod(std::string_view ns, std::string_view name) const {
    auto it = std::find_if(pods_.begin(), pods_.end(),
                           [&](const Pod& p) { return p.ns == ns && p.name == name; });
    return it == pods_.end() ? nullptr : &*it;
}

const Service* Inventory::service_by_ip(const IpAddr& a) const {
    auto it = service_ip_.find(a);
    return it == service_ip_.end() ? nullptr : &services_[it->second];
}

const Service* Inventory::service(std::string_view ns, std::string_view name) const {
    auto it = std::find_if(services_.begin(), services_.end(),
                           [&](const Service& s) { return s.ns == ns && s.name == name; });
    return it == services_.end() ? nullptr : &*it;
}

const K8sNode* Inventory::node_by_ip(const IpAddr& a) const {
    auto it = node_ip_.find(a);
    return it == node_ip_.end() ? nullptr : &nodes_[it->second];
}

const K8sNode* Inventory::node(std::string_view name) const {
    auto it = std::find_if(nodes_.begin(), nodes_.end(),
                           [&](const K8sNode& n) { return n.name == name; });
    return it == nodes_.end() ? nullptr : &*it;
}

std::string Inventory::name_of(const IpAddr& a) const {
    const Pod* p = pod_by_ip(a);
    // A host-networked pod shares its node's address: the node is the better name.
    if (p && !p->host_network) return p->ns + "/" + p->name;
    if (const Service* s = service_by_ip(a)) return s->ns + "/" + s->name + " (service)";
    if (const K8sNode* n = node_by_ip(a)) return n->name + " (node)";
    if (p && !p->node.empty()) return p->node + " (node)";
    return "";
}

}  // namespace podtrace::trace
