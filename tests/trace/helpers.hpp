#pragma once
// Test helpers: the bundled examples as one merged sighting stream, and crafted sightings.
#include <algorithm>
#include <string>
#include <vector>

#include "decode/decoder.hpp"
#include "probes/capture_file.hpp"
#include "probes/capture_point.hpp"
#include "trace/classify.hpp"
#include "trace/correlate.hpp"
#include "trace/sighting.hpp"

namespace podtrace::test {

// Reads every file and merges by timestamp; equal timestamps keep the order of `files`, so
// the correlator, not the merge, has to put them in path order.
inline std::vector<trace::Sighting> read_sightings(const std::vector<std::string>& files,
                                                   trace::Names& names) {
    std::vector<trace::Sighting> out;
    decode::Decoder decoder;
    decode::Decoded d;
    for (const std::string& path : files) {
        auto file = probes::CaptureFile::open(path);
        if (!file) throw std::runtime_error(file.error().message);
        const probes::FileArg spec{path, "", ""};
        std::vector<trace::PointId> points;
        core::Frame f;
        while (file->next(f) == probes::CaptureFile::Read::frame) {
            const auto& ifs = file->interfaces();
            while (points.size() < ifs.size()) {
                const auto at =
                    probes::capture_point(spec, ifs[points.size()].node, ifs[points.size()].name);
                points.push_back(trace::make_point(names, at.node, at.interface));
            }
            decoder.decode(f, d);
            if (trace::sightable(d)) out.push_back(trace::make_sighting(d, points[f.interface]));
        }
    }
    std::ranges::stable_sort(out, {}, &trace::Sighting::ts_ns);
    return out;
}

inline std::vector<trace::Path> correlate_all(const std::vector<trace::Sighting>& in,
                                              trace::Correlator& c) {
    for (const auto& s : in) c.add(s);
    c.finish();
    return c.drain();
}

}  // namespace podtrace::test
