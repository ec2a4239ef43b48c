#include "trace/tracer.hpp"

namespace podtrace::trace {

Tracer::Tracer(Names& names, TracerOptions opt)
    : opt_(opt), correlator_(opt.correlator), linker_(opt.wireguard), topology_(names) {
    correlator_.set_sink(&linker_);
    linker_.set_sink(this);
}

void Tracer::take(Path& p) {
    const Classification c = classify(p);
    const FlowTable::Added added = flows_.add(p, c);
    if (observer_) observer_(p, c, added);
}

void Tracer::add(const Sighting& s) {
    topology_.saw(s);
    if (s.at.kind == PointKind::wireguard) linker_.plaintext_seen(s.at.node);
    correlator_.add(s);
}

void Tracer::advance(std::int64_t now_ns) {
    correlator_.advance(now_ns);
    // Every path whose first sighting is older than one window has now been handed over.
    if (std::int64_t before; !__builtin_sub_overflow(now_ns, opt_.correlator.window_ns, &before))
        linker_.advance(before);
}

void Tracer::finish() {
    correlator_.finish();
    linker_.finish();
}

}  // namespace podtrace::trace
