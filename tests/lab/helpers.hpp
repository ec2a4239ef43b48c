#pragma once
// Test helpers: a lab step the test cannot go on without fails the test with the step's message.
#include <catch2/catch.hpp>
#include <expected>
#include <utility>

#include "core/error.hpp"

namespace podtrace::test {

template <typename T>
T require(std::expected<T, Error> r) {
    if (!r) FAIL(r.error().message);
    return std::move(*r);
}

inline void require(std::expected<void, Error> r) {
    if (!r) FAIL(r.error().message);
}

}  // namespace podtrace::test
