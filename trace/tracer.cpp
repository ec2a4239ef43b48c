#include "trace/tracer.hpp"

namespace podtrace::trace {

void Tracer::pump() {
    for (Path& p : correlator_.drain()) linker_.add(std::move(p));
    for (const Path& p : linker_.drain()) flows_.add(p, classify(p));
}

void Tracer::add(const Sighting& s) {
    topology_.saw(s);
    correlator_.add(s);
    pump();
}

void Tracer::finish() {
    correlator_.finish();
    for (Path& p : correlator_.drain()) linker_.add(std::move(p));
    linker_.finish();
    for (const Path& p : linker_.drain()) flows_.add(p, classify(p));
}

}  // namespace podtrace::trace
