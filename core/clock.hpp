#pragma once
// The two clocks podtrace reads: the wall clock packets are stamped with, and the steady clock
// for waiting and pacing. Both in ns.
#include <chrono>
#include <cstdint>

namespace podtrace::core {

inline std::int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

inline std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace podtrace::core
