#include "report/report.hpp"

#include <algorithm>

#include "ingest/files.hpp"
#include "report/words.hpp"

namespace podtrace::report {
namespace {

bool matches_pod(const trace::Inventory& inv, const std::string& sel, const trace::IpAddr& a) {
    const trace::Pod* p = inv.pod_by_ip(a);
    if (!p) return false;
    const auto slash = sel.find('/');
    if (slash == std::string::npos) return p->name == sel;
    return p->ns == sel.substr(0, slash) && p->name == sel.substr(slash + 1);
}

bool passes(const Filters& f, const trace::Flow& flow, const Session& s) {
    const trace::Inventory& inv = s.inventory;
    const trace::IpAddr ends[] = {{flow.client.addr, flow.client.version},
                                  {flow.server.addr, flow.server.version}};
    auto any_end = [&](auto pred) { return pred(ends[0]) || pred(ends[1]); };
    if (!f.pods.empty() && !std::ranges::any_of(f.pods, [&](const std::string& sel) {
            return any_end([&](const trace::IpAddr& a) { return matches_pod(inv, sel, a); });
        }))
        return false;
    if (f.between.size() == 2) {
        auto at = [&](int pod, int end) { return matches_pod(inv, f.between[pod], ends[end]); };
        if (!((at(0, 0) && at(1, 1)) || (at(0, 1) && at(1, 0)))) return false;
    }
    if (!f.namespaces.empty() && !std::ranges::any_of(f.namespaces, [&](const std::string& ns) {
            return any_end([&](const trace::IpAddr& a) {
                const trace::Pod* p = inv.pod_by_ip(a);
                const trace::Service* svc = inv.service_by_ip(a);
                return (p && p->ns == ns) || (svc && svc->ns == ns);
            });
        }))
        return false;
    if (!f.ips.empty() && !std::ranges::any_of(f.ips, [&](const std::string& ip) {
            const auto want = trace::IpAddr::parse(ip);  // checked by Report::open
            return any_end([&](const trace::IpAddr& a) { return want && a == *want; });
        }))
        return false;
    // Ports of TCP, UDP and SCTP only: an ICMP flow's "port" is its echo identifier.
    if (!f.ports.empty() && !(has_ports(flow) && std::ranges::any_of(f.ports, [&](int p) {
                                  return flow.client.port == p || flow.server.port == p;
                              })))
        return false;
    if (!f.kinds.empty() && !std::ranges::any_of(f.kinds, [&](const std::string& k) {
            return k == trace::path_kind_name(flow_kind(s, flow));
        }))
        return false;
    return true;
}

}  // namespace

std::expected<std::unique_ptr<Report>, Error> Report::open(const Options& opt) {
    for (const std::string& ip : opt.filters.ips)
        if (!trace::IpAddr::parse(ip))
            return std::unexpected(Error{"--ip " + ip + ": not an IP address"});
    if ((!opt.filters.pods.empty() || !opt.filters.namespaces.empty() ||
         !opt.filters.between.empty()) &&
        opt.input.pods_json.empty())
        return std::unexpected(
            Error{"--pod, --between and --namespace need --pods (kubectl get pods -A -o json)"});
    std::unique_ptr<Report> r(new Report(opt));
    for (const std::string& text : opt.expects) {
        auto e = trace::parse_expectation(text);
        if (!e) return std::unexpected(e.error());
        r->expectations.push_back(std::move(*e));
    }
    return r;
}

std::expected<void, Error> Report::read(const Progress& progress) {
    if (auto r = load_inventory(opt_.input, session); !r) return r;
    ingest::FileSet files(opt_.input, session.names, session.tracer.topology());
    if (auto r = files.open(); !r) return r;
    const std::uint64_t total = files.bytes_total();
    const std::uint64_t first_total = files.two_pass() ? 2 * total : total;
    if (progress) progress(0, first_total);
    const auto clock_progress = [&](std::uint64_t done) {
        if (progress) progress(done, first_total);
    };
    if (auto r = files.align_clocks(clock_progress); !r) return r;
    const std::uint64_t base = files.clock_bytes();  // pass 2 follows what the clock pass read
    while (const trace::Sighting* s = files.next()) {
        session.tracer.add(*s);
        if ((++session.sightings & 0xffff) == 0 && progress)
            progress(base + files.bytes_read(), base + total);
    }
    session.tracer.finish();
    session.files = files.finish();
    session.decode = files.step().stats();
    session.clocks = files.clocks();
    return {};
}

std::expected<void, Error> Report::conclude() {
    for (const auto* sels : {&opt_.filters.pods, &opt_.filters.between})
        for (const std::string& sel : *sels)
            if (std::ranges::none_of(session.inventory.pods(), [&](const trace::Pod& p) {
                    return sel.find('/') == std::string::npos ? p.name == sel
                                                              : p.ns + '/' + p.name == sel;
                }))
                return std::unexpected(
                    Error{(sels == &opt_.filters.pods ? "--pod " : "--between ") + sel +
                          ": no such pod in --pods (" +
                          std::to_string(session.inventory.pods().size()) + " pods)"});
    session.diagnose(std::ranges::any_of(expectations, [](const trace::Expectation& e) {
        return e.type == trace::Expectation::Type::encrypted;
    }));
    for (const trace::Expectation& e : expectations) {
        auto r = trace::evaluate(e, session.tracer.flows(), session.findings, session.inventory);
        if (!r) return std::unexpected(Error{"--expect '" + e.text + "': " + r.error().message});
        results.push_back(std::move(*r));
    }
    for (const trace::Flow& f : session.tracer.flows().flows())
        if (passes(opt_.filters, f, session)) shown.push_back(f.id);
    return {};
}

bool Report::held() const {
    return std::ranges::all_of(results, [](const trace::ExpectResult& r) { return r.held; });
}

bool Report::read_error() const {
    return std::ranges::any_of(session.files,
                               [](const ingest::FileSummary& f) { return !f.error.empty(); });
}

}  // namespace podtrace::report
