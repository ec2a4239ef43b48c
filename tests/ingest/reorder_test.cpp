// The reorder ring: a late item goes where it belongs (after items of equal time), the ring
// grows and wraps without losing order.
#include <catch2/catch.hpp>
#include <vector>

#include "ingest/reorder.hpp"

using namespace podtrace;

namespace {

struct Item {
    std::int64_t ts;
    int tag;
};
struct ItemTime {
    std::int64_t operator()(const Item& i) const { return i.ts; }
};

std::vector<int> drain(ingest::ReorderRing<Item, ItemTime>& r) {
    std::vector<int> out;
    for (; !r.empty(); r.pop()) out.push_back(r.front().tag);
    return out;
}

}  // namespace

TEST_CASE("reorder ring: a late item goes before later ones, after equal ones") {
    ingest::ReorderRing<Item, ItemTime> r;
    for (const Item i : {Item{5, 1}, Item{7, 2}, Item{6, 3}, Item{7, 4}, Item{1, 5}, Item{6, 6}})
        r.push(i);
    CHECK(r.size() == 6);
    CHECK(drain(r) == std::vector<int>{5, 1, 3, 6, 2, 4});
}

TEST_CASE("reorder ring: items built in place are filed") {
    ingest::ReorderRing<trace::Sighting> r;
    for (const std::int64_t ts : {30, 10, 20}) {
        trace::Sighting& s = r.back();
        s = {};
        s.ts_ns = ts;
        r.file();
    }
    std::vector<std::int64_t> got;
    for (; !r.empty(); r.pop()) got.push_back(r.front().ts_ns);
    CHECK(got == std::vector<std::int64_t>{10, 20, 30});
}

TEST_CASE("reorder ring: grows and wraps around in order") {
    ingest::ReorderRing<Item, ItemTime> r;
    std::vector<int> out;
    int next = 0;
    // Keep ~300 items held while popping, so the ring grows past 256 and its head wraps.
    for (int i = 0; i < 5000; ++i) {
        // Every 7th item is 3 late: it must come out before the two it was behind.
        const std::int64_t ts = i % 7 == 6 ? i - 3 : i;
        r.push({ts, i});
        if (r.size() > 300) {
            out.push_back(r.front().tag);
            r.pop();
        }
        ++next;
    }
    for (int t : drain(r)) out.push_back(t);
    REQUIRE(out.size() == 5000);
    std::vector<std::int64_t> times;
    for (int t : out) times.push_back(t % 7 == 6 ? t - 3 : t);
    CHECK(std::is_sorted(times.begin(), times.end()));
    // Equal times keep their arrival order: item 6 (ts 3) comes after item 3.
    CHECK(std::find(out.begin(), out.end(), 3) < std::find(out.begin(), out.end(), 6));
}
