// Time arithmetic saturates at the ends of int64 ns instead of overflowing.
#include <catch2/catch.hpp>

#include "core/time.hpp"

using namespace podtrace::core;

TEST_CASE("time: sums and differences saturate") {
    CHECK(add_ns(1, 2) == 3);
    CHECK(sub_ns(1, 2) == -1);
    CHECK(add_ns(kMaxNs, 1) == kMaxNs);
    CHECK(add_ns(kMinNs, -1) == kMinNs);
    CHECK(sub_ns(kMinNs, 1) == kMinNs);
    CHECK(sub_ns(kMaxNs, -1) == kMaxNs);
    CHECK(sub_ns(0, kMinNs) == kMaxNs);
    CHECK(sub_ns(-1, kMinNs) == kMaxNs);  // -1 - INT64_MIN = INT64_MAX, exactly
    CHECK(sub_ns(-2, kMaxNs) == kMinNs);
    CHECK(add_ns(kMaxNs, kMinNs) == -1);
}
