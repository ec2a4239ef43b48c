#include <catch2/catch.hpp>
#include <random>
#include <unordered_map>

#include "trace/u64_map.hpp"

using podtrace::trace::U64Map;

TEST_CASE("U64Map agrees with std::unordered_map over random inserts and erases", "[u64map]") {
    U64Map m;
    std::unordered_map<std::uint64_t, std::uint64_t> ref;
    std::mt19937_64 rng(7);
    // Few distinct keys, so probe runs collide, wrap and get erased in the middle: the cases
    // backward-shift deletion must get right.
    for (int i = 0; i < 200'000; ++i) {
        const std::uint64_t key = 1 + rng() % 3000;
        switch (rng() % 3) {
            case 0:
            case 1:
                m.set(key, static_cast<std::uint64_t>(i));
                ref[key] = static_cast<std::uint64_t>(i);
                break;
            default: m.erase(key); ref.erase(key);
        }
        if (i % 997 == 0) {
            REQUIRE(m.size() == ref.size());
            for (std::uint64_t k = 1; k <= 3000; ++k) {
                const std::uint64_t* v = m.find(k);
                const auto it = ref.find(k);
                REQUIRE((v != nullptr) == (it != ref.end()));
                if (v) REQUIRE(*v == it->second);
            }
        }
    }
    m.clear();
    CHECK(m.size() == 0);
    CHECK(m.find(1) == nullptr);
}

TEST_CASE("U64Map: absent keys, overwrite, erase of what is not there", "[u64map]") {
    U64Map m;
    CHECK(m.find(42) == nullptr);
    m.erase(42);
    m.set(42, 1);
    m.set(42, 2);
    REQUIRE(m.find(42));
    CHECK(*m.find(42) == 2);
    CHECK(m.size() == 1);
    m.erase(43);
    CHECK(m.size() == 1);
    m.erase_if_value(42, 1);  // maps to 2 now: stays
    CHECK(m.find(42) != nullptr);
    m.erase_if_value(42, 2);
    CHECK(m.find(42) == nullptr);
    CHECK(m.size() == 0);
}
