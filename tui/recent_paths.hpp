#pragma once
// Each flow's most recent packets for the Path screen, every point each was seen at. Bounds: the
// newest kKeptPaths paths of all flows and at most kKeptSightings sightings of them (about
// 40 MiB when full); the oldest go first. Nothing is allocated once the rings have grown.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "trace/correlate.hpp"
#include "trace/sighting.hpp"

namespace podtrace::tui {

class RecentPaths {
public:
    static constexpr std::size_t kKeptPaths = 65536, kKeptSightings = 262144;

    struct Kept {
        std::uint64_t first = 0;   // absolute index of its first sighting
        std::uint64_t number = 0;  // 1, 2, … in its flow
        std::uint32_t flow = 0, count = 0;
        bool reverse = false, ambiguous = false;
    };

    // Keeps the path, the `number`-th of `flow`; a path longer than the whole ring keeps its
    // first kKeptSightings sightings.
    void add(const trace::Path& p, std::uint32_t flow, std::uint64_t number, bool reverse);

    // f(const Kept&) for each kept path of `flow` (every flow for 0), oldest first.
    template <class F>
    void for_flow(std::uint32_t flow, F f) const {
        for (std::uint64_t i = paths_begin_; i < paths_end_; ++i) {
            const Kept& k = paths_[i % kKeptPaths];
            if (flow == 0 || k.flow == flow) f(k);
        }
    }
    // The i-th sighting of a kept path.
    const trace::Sighting& sighting(const Kept& k, std::uint32_t i) const {
        return sightings_[(k.first + i) % kKeptSightings];
    }
    // The newest kept sighting whose frame has handle `ref` (Sighting::ref), or nullptr.
    const trace::Sighting* find(std::uint64_t ref) const;

private:
    std::vector<trace::Sighting> sightings_;  // ring, kKeptSightings
    std::vector<Kept> paths_;                 // ring, kKeptPaths
    std::uint64_t sightings_begin_ = 0, sightings_end_ = 0, paths_begin_ = 0, paths_end_ = 0;
};

}  // namespace podtrace::tui
