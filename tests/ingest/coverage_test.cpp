// What a capture point covered: its frames' span, widened by its Interface Statistics Blocks
// when they are plausible, on the corrected timeline.
#include <catch2/catch.hpp>

#include "ingest/coverage.hpp"

using namespace podtrace;

namespace {

struct Fixture {
    trace::Names names;
    trace::Topology topo{names};
    trace::PointId p = trace::make_point(names, "k8s-w2", "cali49778cadcf1");
};

}  // namespace

TEST_CASE("coverage: the frames' span, widened to the capture's start and stop") {
    Fixture f;
    ingest::cover(f.topo, f.p, 100, 200, 50, 400);
    CHECK(f.topo.captured(f.p, 50));
    CHECK(f.topo.captured(f.p, 400));
    CHECK_FALSE(f.topo.captured(f.p, 401));
    CHECK_FALSE(f.topo.captured(f.p, 49));
}

TEST_CASE("coverage: without statistics, from the first frame to the last") {
    Fixture f;
    ingest::cover(f.topo, f.p, 100, 200, std::nullopt, std::nullopt);
    CHECK(f.topo.captured(f.p, 100));
    CHECK(f.topo.captured(f.p, 200));
    CHECK_FALSE(f.topo.captured(f.p, 201));
}

TEST_CASE("coverage: an end before the last frame is a writer's mistake, not used") {
    Fixture f;
    ingest::cover(f.topo, f.p, 100, 200, 10, 150);
    CHECK_FALSE(f.topo.captured(f.p, 10));
    CHECK(f.topo.captured(f.p, 100));
    CHECK(f.topo.captured(f.p, 200));
}

TEST_CASE("coverage: a point without frames covers what its statistics say, or nothing") {
    Fixture f;
    ingest::cover(f.topo, f.p, INT64_MAX, INT64_MIN, std::nullopt, std::nullopt);
    CHECK(f.topo.points().empty());
    ingest::cover(f.topo, f.p, INT64_MAX, INT64_MIN, 300, 500);
    CHECK(f.topo.captured(f.p, 300));
    CHECK(f.topo.captured(f.p, 500));
}

TEST_CASE("coverage: statistics are shifted onto the corrected timeline") {
    Fixture f;
    // A node 2 s ahead: its frames were already corrected to [100, 200]; its statistics say
    // 2.000000050 s to 2.000000400 s on its own clock.
    ingest::cover(f.topo, f.p, 100, 200, 2'000'000'050, 2'000'000'400, 2'000'000'000);
    CHECK(f.topo.captured(f.p, 50));
    CHECK(f.topo.captured(f.p, 400));
    CHECK_FALSE(f.topo.captured(f.p, 2'000'000'050));
    // Times at the limits saturate instead of overflowing.
    ingest::cover(f.topo, f.p, 100, 200, INT64_MIN, INT64_MAX, -5);
    CHECK(f.topo.captured(f.p, INT64_MAX));
}
