#include "trace/expect.hpp"

#include <algorithm>

namespace podtrace::trace {

namespace {

constexpr const char* kGrammar =
    "expected 'SRC -> DST: KIND', 'no-drops' or "
    "'encrypted'; KIND: same-node | cross-node "
    "[encap=ipip|vxlan|wireguard|direct] | egress "
    "[snat] | service [dnat]; SRC/DST: "
    "namespace/name or an IP address";

bool space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> tokens(std::string_view s) {
    std::vector<std::string_view> out;
    while (true) {
        s = trim(s);
        if (s.empty()) return out;
        std::size_t n = 0;
        while (n < s.size() && !space(s[n])) ++n;
        out.push_back(s.substr(0, n));
        s.remove_prefix(n);
    }
}

std::unexpected<Error> bad(std::string_view text, const std::string& problem) {
    return std::unexpected(
        Error{"--expect \"" + std::string(text) + "\": " + problem + "; " + kGrammar});
}

std::expected<Selector, Error> selector(std::string_view text, std::string_view all,
                                        const char* role) {
    Selector s;
    s.text = std::string(text);
    if (text.empty()) return bad(all, std::string("no ") + role);
    if ((s.ip = IpAddr::parse(text))) return s;
    const auto slash = text.find('/');
    const bool one_slash =
        slash != std::string_view::npos && text.find('/', slash + 1) == text.npos;
    const bool spaced = std::ranges::any_of(text, space);
    if (!one_slash || slash == 0 || slash + 1 == text.size() || spaced)
        return bad(all, std::string(role) + " '" + std::string(text) +
                            "' is neither an IP address nor namespace/name");
    s.ns = std::string(text.substr(0, slash));
    s.name = std::string(text.substr(slash + 1));
    return s;
}

std::optional<PathKind> kind_of(std::string_view t) {
    if (t == "same-node") return PathKind::same_node;
    if (t == "cross-node") return PathKind::cross_node;
    if (t == "egress") return PathKind::egress;
    if (t == "service") return PathKind::service;
    return std::nullopt;
}

std::optional<Encap> encap_of(std::string_view t) {
    if (t == "ipip") return Encap::ipip;
    if (t == "vxlan") return Encap::vxlan;
    if (t == "wireguard") return Encap::wireguard;
    if (t == "direct") return Encap::none;
    return std::nullopt;
}

IpAddr addr(const Endpoint& e) {
    return {e.addr, e.version};
}

std::string plural(std::uint64_t n, const char* word) {
    return std::to_string(n) + ' ' + word + (n == 1 ? "" : "s");
}

struct Resolved {
    std::vector<IpAddr> ips;
    std::string label;  // "default/pod1 (172.16.158.1)", "10.0.0.1"
};

std::expected<Resolved, Error> resolve(const Selector& s, const Inventory& inv) {
    if (s.ip) return Resolved{{*s.ip}, s.text};
    if (inv.empty())
        return std::unexpected(
            Error{s.text + ": a name needs the inventory: pass --pods and --services (kubectl get "
                           "pods,svc -A -o json), or use an IP address"});
    Resolved r;
    if (const Pod* p = inv.pod(s.ns, s.name)) {
        if (p->ips.empty()) return std::unexpected(Error{s.text + ": the pod has no IP in --pods"});
        r.ips = p->ips;
    } else if (const Service* v = inv.service(s.ns, s.name)) {
        if (v->cluster_ips.empty())
            return std::unexpected(Error{s.text + ": the service has no cluster IP (headless)"});
        r.ips = v->cluster_ips;
    } else {
        return std::unexpected(Error{s.text +
                                     ": no pod or service of that name in --pods/--services (" +
                                     plural(inv.pods().size(), "pod") + ", " +
                                     plural(inv.services().size(), "service") + " loaded)"});
    }
    r.label = s.text + " (";
    for (std::size_t i = 0; i < r.ips.size(); ++i) r.label += (i ? ", " : "") + r.ips[i].str();
    r.label += ')';
    return r;
}

bool contains(const Resolved& r, const IpAddr& a) {
    return std::ranges::find(r.ips, a) != r.ips.end();
}

std::string flow_label(const Flow& f, const Inventory& inv) {
    const auto one = [&](const Endpoint& e) {
        const IpAddr a = addr(e);
        const std::string n = inv.name_of(a);
        return n.empty() ? a.str() : n + " (" + a.str() + ')';
    };
    return "flow " + std::to_string(f.id) + " " + one(f.client) + " -> " + one(f.server);
}

class Evaluator {
public:
    Evaluator(const Expectation& e, const FlowTable& flows, const std::vector<Diagnosis>& findings,
              const Inventory& inv)
        : e_(e), flows_(flows), findings_(findings), inv_(inv) {}

    ExpectResult no_drops() const {
        std::vector<const Diagnosis*> drops;
        for (const Diagnosis& d : findings_)
            if (d.kind == DiagnosisKind::dropped) drops.push_back(&d);
        if (drops.empty()) return {true, "no drops in " + plural(flows_.flows().size(), "flow")};
        std::string detail = plural(drops.size(), "drop") + ": ";
        for (std::size_t i = 0; i < drops.size() && i < 3; ++i)
            detail += (i ? "; " : "") + drops[i]->where;
        if (drops.size() > 3) detail += "; ...";
        return {false, detail};
    }

    ExpectResult encrypted() const {
        std::size_t cross = 0;
        std::vector<std::string> bad;
        // A Service's traffic to an endpoint on another node crosses nodes too.
        const auto spans_nodes = [](const Path& p) {
            return !p.sightings.empty() &&
                   p.sightings.front().at.node != p.sightings.back().at.node;
        };
        for (const Flow& f : flows_.flows()) {
            if (f.kind != PathKind::cross_node &&
                !(f.kind == PathKind::service &&
                  (spans_nodes(f.example_fwd) || spans_nodes(f.example_rev))))
                continue;
            ++cross;
            const std::uint64_t clear = f.fwd.clear_on_wire + f.rev.clear_on_wire;
            if (clear > 0)
                bad.push_back(flow_label(f, inv_) + ": " + plural(clear, "packet") +
                              " in clear on the wire");
            else if (f.fwd.wireguard + f.rev.wireguard == 0)
                bad.push_back(flow_label(f, inv_) + ": never seen inside WireGuard");
        }
        if (cross == 0)
            return {false, "no cross-node traffic in the captures: nothing shows encryption"};
        if (bad.empty()) return {true, plural(cross, "cross-node flow") + ", all over WireGuard"};
        std::string detail = std::to_string(bad.size()) + " of " +
                             plural(cross, "cross-node flow") + " not encrypted: ";
        for (std::size_t i = 0; i < bad.size() && i < 3; ++i) detail += (i ? "; " : "") + bad[i];
        if (bad.size() > 3) detail += "; ...";
        return {false, detail};
    }

    std::expected<ExpectResult, Error> path() const {
        auto src = resolve(e_.src, inv_);
        if (!src) return std::unexpected(src.error());
        auto dst = resolve(e_.dst, inv_);
        if (!dst) return std::unexpected(dst.error());

        std::vector<const Flow*> matching;
        bool reversed = false;
        for (const Flow& f : flows_.flows()) {
            const bool to_dst =
                contains(*dst, addr(f.server)) || (f.dnat && contains(*dst, addr(f.dnat->to)));
            if (contains(*src, addr(f.client)) && to_dst) matching.push_back(&f);
            if (contains(*dst, addr(f.client)) && contains(*src, addr(f.server))) reversed = true;
        }
        if (matching.empty()) {
            if (reversed)
                return ExpectResult{false,
                                    "saw traffic only from " + dst->label + " to " + src->label};
            return ExpectResult{
                false, "no traffic from " + src->label + " to " + dst->label + " in the captures"};
        }
        std::vector<const Flow*> known;
        for (const Flow* f : matching)
            if (kind(*f) != PathKind::unknown) known.push_back(f);
        if (known.empty())
            return ExpectResult{false, plural(matching.size(), "flow") +
                                           " seen, but the path could not be classified: "
                                           "capture points missing?"};
        const Flow* failed = nullptr;
        std::size_t failures = 0;
        std::uint64_t packets = 0;
        for (const Flow* f : known) {
            packets += f->fwd.packets + f->rev.packets;
            if (!holds(*f)) {
                ++failures;
                if (!failed) failed = f;
            }
        }
        if (!failed)
            return ExpectResult{true, plural(known.size(), "flow") + ", " +
                                          plural(packets, "packet") + ": " +
                                          describe(*known.front())};
        std::string detail = "saw " + describe(*failed);
        if (failures < known.size())
            detail += " (" + std::to_string(failures) + " of " + plural(known.size(), "flow") + ")";
        return ExpectResult{false, detail};
    }

private:
    bool has_finding(const Flow& f, DiagnosisKind k) const {
        return std::ranges::any_of(
            findings_, [&](const Diagnosis& d) { return d.flow == f.id && d.kind == k; });
    }

    // A pod's traffic leaving unrewritten for the outside classifies as direct
    // cross-node; diagnose() knows better (it sees the destination is outside
    // every pool).
    PathKind kind(const Flow& f) const {
        if (has_finding(f, DiagnosisKind::egress_without_snat)) return PathKind::egress;
        return f.kind;
    }

    // The DNAT's target is a pod (when the inventory knows the pods) and it was
    // reached: the packet was seen going into it, or it answered.
    bool reached_endpoint(const Flow& f) const {
        if (!inv_.pods().empty() && !inv_.pod_by_ip(addr(f.dnat->to))) return false;
        if (f.rev.packets > 0) return true;
        const auto& s = f.example_fwd.sightings;
        return !s.empty() && s.back().at.kind == PointKind::pod_veth &&
               IpAddr{s.back().dst, s.back().ip_version} == addr(f.dnat->to);
    }

    bool holds(const Flow& f) const {
        // A Service's traffic also went same-node or cross-node to its endpoint, and says so.
        const bool routed = kind(f) == PathKind::service && f.route == e_.kind &&
                            (e_.kind == PathKind::same_node || e_.kind == PathKind::cross_node);
        if (kind(f) != e_.kind && !routed) return false;
        switch (e_.kind) {
            case PathKind::cross_node: return !e_.encap || f.encap == *e_.encap;
            case PathKind::egress: return !e_.snat || f.snat;
            case PathKind::service: return !e_.dnat || (f.dnat && reached_endpoint(f));
            default: return true;
        }
    }

    std::string describe(const Flow& f) const {
        const PathKind k = kind(f);
        std::string s = path_kind_name(k);
        switch (k) {
            case PathKind::cross_node: s = route_text(k, f.encap, f.vni); break;
            case PathKind::egress:
                s += f.snat ? " with SNAT to " + addr(f.snat->to).str() : " without SNAT";
                break;
            case PathKind::service:
                if (!f.dnat)
                    s += " without DNAT";
                else if (!reached_endpoint(f))
                    s += " DNAT to " + addr(f.dnat->to).str() + ", endpoint never reached";
                else
                    s += " with DNAT to " + addr(f.dnat->to).str();
                if (f.route != PathKind::unknown) s += ", " + route_text(f.route, f.encap, f.vni);
                break;
            default: break;
        }
        return s;
    }

    const Expectation& e_;
    const FlowTable& flows_;
    const std::vector<Diagnosis>& findings_;
    const Inventory& inv_;
};

}  // namespace

std::expected<Expectation, Error> parse_expectation(std::string_view text) {
    const std::string_view t = trim(text);
    Expectation e;
    e.text = std::string(t);
    if (t.empty()) return bad(text, "empty expectation");
    if (t == "no-drops") {
        e.type = Expectation::Type::no_drops;
        return e;
    }
    if (t == "encrypted") {
        e.type = Expectation::Type::encrypted;
        return e;
    }
    const auto arrow = t.find("->");
    if (arrow == std::string_view::npos) {
        const auto words = tokens(t);
        if (words.size() == 1) return bad(t, "unknown expectation '" + std::string(t) + "'");
        return bad(t, "no '->' between SRC and DST");
    }
    const std::string_view rest = t.substr(arrow + 2);
    // IPv6 addresses hold ':' too: the separator is ": ", else the last ':'.
    auto colon = rest.find(": ");
    if (colon == std::string_view::npos) colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad(t, "no ': KIND' after DST");
    auto src = selector(trim(t.substr(0, arrow)), t, "SRC");
    if (!src) return std::unexpected(src.error());
    auto dst = selector(trim(rest.substr(0, colon)), t, "DST");
    if (!dst) return std::unexpected(dst.error());
    e.src = std::move(*src);
    e.dst = std::move(*dst);

    const auto words = tokens(rest.substr(colon + 1));
    if (words.empty()) return bad(t, "no KIND after ':'");
    const auto kind = kind_of(words[0]);
    if (!kind) return bad(t, "unknown kind '" + std::string(words[0]) + "'");
    e.kind = *kind;
    for (std::size_t i = 1; i < words.size(); ++i) {
        const std::string_view q = words[i];
        const std::string named = "qualifier '" + std::string(q) + "'";
        const auto only_with = [&](PathKind k, bool given) -> std::optional<std::string> {
            if (e.kind != k) return named + " goes with " + path_kind_name(k) + " only";
            if (given) return named + " given twice";
            return std::nullopt;
        };
        std::optional<std::string> problem;
        if (q.starts_with("encap=")) {
            problem = only_with(PathKind::cross_node, e.encap.has_value());
            if (!problem && !(e.encap = encap_of(q.substr(6))))
                problem = "unknown encapsulation in " + named;
        } else if (q == "snat") {
            problem = only_with(PathKind::egress, e.snat);
            e.snat = true;
        } else if (q == "dnat") {
            problem = only_with(PathKind::service, e.dnat);
            e.dnat = true;
        } else {
            problem = "unknown " + named;
        }
        if (problem) return bad(t, *problem);
    }
    return e;
}

std::expected<ExpectResult, Error> evaluate(const Expectation& e, const FlowTable& flows,
                                            const std::vector<Diagnosis>& findings,
                                            const Inventory& inventory) {
    const Evaluator ev(e, flows, findings, inventory);
    switch (e.type) {
        case Expectation::Type::no_drops: return ev.no_drops();
        case Expectation::Type::encrypted: return ev.encrypted();
        case Expectation::Type::path: break;
    }
    return ev.path();
}

}  // namespace podtrace::trace
