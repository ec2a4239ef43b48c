#pragma once
// Time as int64 ns since the epoch, and durations: sums and differences saturate at the ends of
// the range instead of overflowing, because a timestamp is whatever a capture file says (a
// pcapng can say 2^63 - 1) and a clock offset whatever the estimate gave.
#include <cstdint>
#include <limits>

namespace podtrace::core {

inline constexpr std::int64_t kMinNs = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kMaxNs = std::numeric_limits<std::int64_t>::max();

// a + b, saturating.
inline std::int64_t add_ns(std::int64_t a, std::int64_t b) {
    std::int64_t r = 0;
    if (!__builtin_add_overflow(a, b, &r)) return r;
    return b > 0 ? kMaxNs : kMinNs;
}

// a - b, saturating.
inline std::int64_t sub_ns(std::int64_t a, std::int64_t b) {
    std::int64_t r = 0;
    if (!__builtin_sub_overflow(a, b, &r)) return r;
    return b > 0 ? kMinNs : kMaxNs;
}

}  // namespace podtrace::core
