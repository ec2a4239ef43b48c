#include "report/session.hpp"

#include "ingest/inventory.hpp"

namespace podtrace::report {
namespace {

trace::TracerOptions tracer_options(const ingest::InputOptions& opt) {
    trace::TracerOptions t;
    t.correlator.window_ns = static_cast<std::int64_t>(opt.window_s * 1e9);
    return t;
}

}  // namespace

Session::Session(const ingest::InputOptions& opt) : tracer(names, tracer_options(opt)) {}

void Session::diagnose(bool expect_encrypted) {
    const trace::Topology& topo = tracer.topology();
    trace::DiagnoseOptions opt;
    opt.expect_encrypted = expect_encrypted;
    for (std::uint16_t n : topo.nodes())
        if (const trace::NodeFacts* f = topo.facts(n); f && f->has_wireguard())
            opt.expect_encrypted = true;
    for (const trace::PointCoverage& p : topo.points())
        if (p.point.kind == trace::PointKind::wireguard) opt.expect_encrypted = true;
    findings = trace::diagnose(tracer.flows(), topo, opt);
}

std::expected<void, Error> load_inventory(const ingest::InputOptions& opt, Session& s) {
    if (auto r = ingest::load_inventory(opt, s.inventory); !r) return r;
    s.tracer.topology().set_inventory(&s.inventory);
    return {};
}

}  // namespace podtrace::report
