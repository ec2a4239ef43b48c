// `podtrace discover`: the node's Calico data-plane facts (text or JSON), and a conntrack lookup.
#include <iostream>
#include <memory>
#include <ostream>

#include "app/command.hpp"
#include "probes/discover.hpp"
#include "probes/discover_json.hpp"
#include "probes/pod_view.hpp"
#include "trace/inventory.hpp"

namespace podtrace::app {
namespace {

using namespace podtrace::probes;

// Columns padded to their widest cell, two spaces apart, indented by two.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (width.size() <= i) width.push_back(0);
            width[i] = std::max(width[i], r[i].size());
        }
    for (const auto& r : rows) {
        std::string line = " ";
        for (std::size_t i = 0; i < r.size(); ++i) {
            line += ' ';
            line += r[i];
            if (i + 1 < r.size()) line.append(width[i] - r[i].size() + 1, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out << line << '\n';
    }
}

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

std::string link_cells(const LinkInfo& l) {
    return "ifindex " + std::to_string(l.ifindex) + "  mtu " + std::to_string(l.mtu);
}

std::string pod_label(const PodInterface& p) {
    return p.pod ? p.pod->ns + "/" + p.pod->pod : "";
}

void print_pod_view(const PodView& v, std::ostream& out) {
    out << pod_view_note(v) << "\nPod interface\n";
    print_table(out, {{v.interface, "ifindex " + std::to_string(v.ifindex) + "  mtu " +
                                         std::to_string(v.mtu),
                       join(v.addresses), "gateway " + v.gateway + (v.onlink ? " onlink" : "")}});
}

void print_facts(const NodeFacts& f, std::ostream& out) {
    if (f.pod_view) {
        print_pod_view(*f.pod_view, out);
        return;
    }
    out << "Node NIC\n";
    if (f.nic) {
        const LinkInfo& l = f.nic->link;
        print_table(out, {{l.name, link_cells(l), l.mac, l.oper_state, join(l.addresses),
                           f.nic->gateway.empty() ? "" : "gateway " + f.nic->gateway}});
    } else {
        out << "  (no IPv4 default route)\n";
    }
    out << "\nPods (veth -> IPs)\n";
    std::vector<std::vector<std::string>> rows;
    for (const PodInterface& p : f.pods)
        rows.push_back({p.link.name, link_cells(p.link), p.link.mac, p.link.oper_state,
                        "-> " + (p.pod_ips.empty() ? "(no /32 route)" : join(p.pod_ips)),
                        pod_label(p)});
    if (rows.empty()) out << "  (no cali* veths)\n";
    print_table(out, rows);

    rows.clear();
    for (const PodInterface& p : f.pods) {
        if (p.pod)
            rows.push_back({p.link.name, pod_label(p), p.pod->verified});
        else if (!p.pod_unnamed.empty())
            rows.push_back({p.link.name, "unnamed", p.pod_unnamed});
    }
    if (!rows.empty()) {
        out << "\nPod names (from /proc: the processes in each veth's peer network namespace)\n";
        print_table(out, rows);
    }

    out << "\nTunnels\n";
    rows.clear();
    for (const Tunnel& t : f.tunnels) {
        std::string detail;
        if (t.vni) detail += "vni " + std::to_string(*t.vni) + " ";
        if (t.dst_port) detail += "dstport " + std::to_string(*t.dst_port) + " ";
        if (t.local) detail += "local " + *t.local + " ";
        if (t.table) detail += "table " + table_name(*t.table) + " ";
        if (t.rule_priority) detail += "rule " + std::to_string(*t.rule_priority) + " ";
        if (!detail.empty()) detail.pop_back();
        std::string type = t.type + (t.link.kind != t.type ? " (" + t.link.kind + ")" : "");
        rows.push_back({t.link.name, type, link_cells(t.link), t.link.oper_state,
                        join(t.link.addresses), detail});
    }
    if (rows.empty()) out << "  (none)\n";
    print_table(out, rows);

    out << "\nBlocks (blackhole routes)\n";
    rows.clear();
    for (const Block& b : f.blocks)
        rows.push_back(
            {b.cidr, "proto " + protocol_name(b.protocol), "table " + table_name(b.table)});
    if (rows.empty()) out << "  (none)\n";
    print_table(out, rows);

    out << "\nRoutes to remote blocks\n";
    rows.clear();
    for (const RemoteRoute& r : f.remote_routes)
        rows.push_back({r.dst, r.via.empty() ? "" : "via " + r.via, "dev " + r.dev,
                        r.onlink ? "onlink" : "", "proto " + protocol_name(r.protocol),
                        "table " + table_name(r.table), r.mode});
    if (rows.empty()) out << "  (none)\n";
    print_table(out, rows);

    out << "\nnatOutgoing\n";
    if (!f.nat_outgoing) {
        out << (f.nat_ruleset_read ? "  none: " : "  unknown: ") << f.nat_outgoing_reason << '\n';
        return;
    }
    rows.clear();
    for (const MasqRule& r : f.nat_outgoing->rules)
        rows.push_back({r.family + " " + r.table + " " + r.chain,
                        "handle " + std::to_string(r.handle), join(r.matches, ", "),
                        std::string("MASQUERADE") +
                            (!r.random_fully ? " (iptables-nft target: options not visible)"
                             : *r.random_fully ? " random-fully"
                                               : "")});
    if (rows.empty()) out << "  chain present, no MASQUERADE rule\n";
    print_table(out, rows);
    out << (f.nat_outgoing->hooked ? "  in effect: reached from a postrouting chain\n"
                                   : "  not reached from any postrouting chain\n");
}

}  // namespace

DiscoverOptions discover_options() {
    DiscoverOptions o;
    o.namer = [](std::string_view ns, std::string_view pod) {
        return trace::calico_veth_name(ns, pod);
    };
    return o;
}

Command add_discover_command(CLI::App& cli) {
    struct State {
        bool json = false;
        std::string conntrack;
    };
    auto st = std::make_shared<State>();
    auto* sub = cli.add_subcommand(
        "discover", "Show this node's Calico data plane: pod veths, tunnels, blocks, routes, NAT");
    sub->add_flag("-j,--json", st->json, "one JSON document");
    sub->add_option("--conntrack", st->conntrack,
                    "look up a connection instead: PROTO:SRC:SPORT:DST:DPORT (ICMP: SPORT is the "
                    "echo id), shows what it was SNATed/DNATed to");
    return {sub, [st] {
                if (!st->conntrack.empty()) {
                    auto tuple = parse_five_tuple(st->conntrack);
                    if (!tuple) {
                        std::cerr << "podtrace: --conntrack: " << tuple.error().message << '\n';
                        return 2;
                    }
                    auto m = conntrack_lookup(*tuple);
                    if (!m) {
                        std::cerr << "podtrace: " << m.error().message << '\n';
                        return 2;
                    }
                    if (st->json) {
                        std::cout << conntrack_json(*tuple, *m, 2) << '\n';
                        return 0;
                    }
                    if (!*m) {
                        std::cout << "no conntrack entry for " << to_string(*tuple) << '\n';
                        return 0;
                    }
                    const NatMapping& nm = **m;
                    std::cout << "original  " << to_string(nm.original) << '\n'
                              << "reply     " << to_string(nm.reply) << '\n';
                    if (nm.snat)
                        std::cout << "SNAT      source -> " << nm.nat_src << ':' << nm.nat_sport
                                  << '\n';
                    if (nm.dnat)
                        std::cout << "DNAT      destination -> " << nm.nat_dst << ':'
                                  << nm.nat_dport << '\n';
                    if (!nm.snat && !nm.dnat) std::cout << "no NAT\n";
                    if (!nm.tcp_state.empty()) std::cout << "state     " << nm.tcp_state << '\n';
                    return 0;
                }
                auto facts = discover(discover_options());
                if (!facts) {
                    std::cerr << "podtrace: discover: " << facts.error().message << '\n';
                    return 2;
                }
                if (st->json)
                    std::cout << facts_json(*facts, 2) << '\n';
                else
                    print_facts(*facts, std::cout);
                return 0;
            }};
}

}  // namespace podtrace::app
