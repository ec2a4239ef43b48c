// --follow's merge over regular files hands out the same sightings, in the same order, as the
// files' merge without clock offsets: one reorder rule, one step.
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "ingest/files.hpp"
#include "ingest/streams.hpp"

using namespace podtrace;

namespace {

const std::string kIpip = std::string(PODTRACE_SOURCE_DIR) + "/examples/ipip/";

struct Seen {
    std::int64_t ts;
    std::uint64_t fingerprint;
    std::string point;
    core::Direction direction;
    bool operator==(const Seen&) const = default;
};

}  // namespace

TEST_CASE("streams: regular files merge as FileSet merges them with --no-clock") {
    ingest::InputOptions opt;
    opt.files = {kIpip + "k8s-w0.pcapng", kIpip + "k8s-w1.pcapng", kIpip + "k8s-w2.pcapng"};
    opt.clock = false;

    std::vector<Seen> want;
    {
        trace::Names names;
        trace::Topology topo(names);
        ingest::FileSet fs(opt, names, topo);
        REQUIRE(fs.open());
        REQUIRE(fs.align_clocks());
        while (const trace::Sighting* s = fs.next())
            want.push_back({s->ts_ns, s->fingerprint,
                            names.name(s->at.node) + '/' + names.name(s->at.interface),
                            s->direction});
    }
    REQUIRE(want.size() == 355);

    trace::Names names;
    trace::Topology topo(names);
    ingest::StreamMerge merge(opt, names, topo);
    std::vector<std::string> declared;
    merge.on_point([&](trace::PointId at, std::size_t) {
        declared.push_back(names.name(at.node) + '/' + names.name(at.interface));
    });
    REQUIRE(merge.open());
    std::atomic<bool> stopping{false};
    merge.start(stopping);
    merge.learn_files();
    std::vector<Seen> got;
    trace::Sighting s;
    while (!merge.over()) {
        merge.take(256);
        while (merge.next(core::steady_ns(), s))
            got.push_back({s.ts_ns, s.fingerprint,
                           names.name(s.at.node) + '/' + names.name(s.at.interface), s.direction});
        if (!merge.over()) merge.wait(core::steady_ns() + 10'000'000);
    }
    merge.join();
    CHECK(got == want);
    CHECK(declared.size() == 11);  // every interface of the three files (3 + 5 + 3), once
    REQUIRE(merge.streams().size() == 3);
    CHECK(merge.streams()[1].label() == "k8s-w1");
    CHECK(merge.streams()[1].info.state == probes::LiveStreams::State::ended);
    CHECK_FALSE(merge.quiet_time(core::steady_ns()));  // files are never quiet, only over
}
