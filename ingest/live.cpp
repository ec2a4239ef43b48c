#include "ingest/live.hpp"

namespace podtrace::ingest {

LiveInput::LiveInput(probes::LiveSource& src, const InputOptions& opt, trace::Names& names,
                     trace::Topology& topo, const std::string& facts, PointHook on_point)
    : src_(src), names_(names), step_(opt.ports), on_point_(std::move(on_point)) {
    const std::uint16_t node = names.intern(src.node());
    if (facts.empty()) {
        facts_error_ = "node facts: discovery found nothing on this node";
    } else if (auto f = trace::parse_node_facts(facts); !f) {
        facts_error_ = "node facts unreadable: " + f.error().message;
    } else {
        step_.learn_node(node, *f);
        topo.set_facts(node, std::move(*f));
    }
    learn();
}

void LiveInput::learn() {
    stats_ = src_.stats();
    if (points_.size() < stats_.size()) {
        points_.resize(stats_.size());
        known_.resize(stats_.size(), false);
    }
    for (std::size_t i = 0; i < stats_.size(); ++i) {
        if (known_[i]) continue;
        points_[i] = trace::make_point(names_, src_.node(), stats_[i].name);
        known_[i] = true;
        if (on_point_) on_point_(points_[i], i);
    }
}

LiveInput::Wait LiveInput::wait(std::chrono::milliseconds timeout) {
    switch (src_.next(f_, timeout)) {
        case probes::LiveSource::Wait::frame: return Wait::frame;
        case probes::LiveSource::Wait::timeout: return Wait::quiet;
        case probes::LiveSource::Wait::stopped: break;
    }
    return Wait::stopped;
}

bool LiveInput::take(trace::Sighting& out) {
    if (f_.interface >= points_.size() || !known_[f_.interface]) learn();
    return step_.take(f_, points_[f_.interface], f_.ts_ns, out);
}

}  // namespace podtrace::ingest
