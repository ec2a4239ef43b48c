#include "trace/tracer.hpp"

namespace podtrace::trace {

// Buffers are traded, not allocated, and each path's storage goes back to the correlator once
// the flows have taken what they keep: nothing here allocates per packet.
void Tracer::pump() {
    correlator_.drain_into(correlated_);
    for (Path& p : correlated_) linker_.add(std::move(p));
    correlated_.clear();
    linker_.drain_into(linked_);
    for (Path& p : linked_) {
        const Classification c = classify(p);
        const FlowTable::Added added = flows_.add(p, c);
        if (observer_) observer_(p, c, added);
        correlator_.recycle(std::move(p));
    }
    linked_.clear();
}

void Tracer::add(const Sighting& s) {
    topology_.saw(s);
    if (s.at.kind == PointKind::wireguard) linker_.plaintext_seen(s.at.node);
    correlator_.add(s);
    pump();
}

void Tracer::advance(std::int64_t now_ns) {
    correlator_.advance(now_ns);
    pump();
    // Every path whose first sighting is older than one window has now been handed over.
    if (std::int64_t before; !__builtin_sub_overflow(now_ns, opt_.correlator.window_ns, &before))
        linker_.advance(before);
    pump();
}

void Tracer::finish() {
    correlator_.finish();
    pump();
    linker_.finish();
    pump();
}

}  // namespace podtrace::trace
