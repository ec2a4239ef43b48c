#include "tui/recent_paths.hpp"

#include <algorithm>

namespace podtrace::tui {

void RecentPaths::add(const trace::Path& p, std::uint32_t flow, std::uint64_t number,
                      bool reverse) {
    const auto& s = p.sightings;
    const std::size_t len = std::min(s.size(), kKeptSightings);
    // Room for it: the oldest paths go.
    while (
        paths_end_ - paths_begin_ == kKeptPaths ||
        (paths_begin_ < paths_end_ && sightings_end_ + len - sightings_begin_ > kKeptSightings)) {
        const Kept& old = paths_[paths_begin_ % kKeptPaths];
        sightings_begin_ = old.first + old.count;
        ++paths_begin_;
    }
    if (paths_begin_ == paths_end_) sightings_begin_ = sightings_end_;
    for (std::size_t i = 0; i < len; ++i) {
        if (sightings_.size() < kKeptSightings)
            sightings_.push_back(s[i]);
        else
            sightings_[(sightings_end_ + i) % kKeptSightings] = s[i];
    }
    const Kept k{sightings_end_, number,     flow, static_cast<std::uint32_t>(len),
                 reverse,        p.ambiguous};
    if (paths_.size() < kKeptPaths)
        paths_.push_back(k);
    else
        paths_[paths_end_ % kKeptPaths] = k;
    sightings_end_ += len;
    ++paths_end_;
}

const trace::Sighting* RecentPaths::find(std::uint64_t ref) const {
    for (std::uint64_t i = sightings_end_; ref && i > sightings_begin_; --i)
        if (sightings_[(i - 1) % kKeptSightings].ref == ref)
            return &sightings_[(i - 1) % kKeptSightings];
    return nullptr;
}

}  // namespace podtrace::tui
