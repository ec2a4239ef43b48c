// The JSON reader shared by the kubectl lists and the node facts: where a parse failed, and
// value paths that read back as the document's keys.
#include "trace/json_read.hpp"

#include <catch2/catch.hpp>

using namespace podtrace::trace::json_read;

namespace {
template <typename F>
std::string bad_of(F f) {
    try {
        f();
    } catch (const Bad& b) {
        return b.message;
    }
    return "(no error)";
}
}  // namespace

TEST_CASE("json_read: a number too large for a double is placed by line and column") {
    const auto r = parse("{\"a\": 1,\n \"mtu\": 1e400}");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::StartsWith("not JSON: ") && Catch::Contains("1e400") &&
                                      Catch::EndsWith(" at line 2, column 13"));  // its last digit
    // nlohmann's own parse errors carry their place already.
    const auto p = parse("{\"a\": }");
    REQUIRE_FALSE(p);
    CHECK_THAT(p.error().message, Catch::Contains("line 1, column 7"));
    CHECK(parse("[1e300]"));
}

TEST_CASE("json_read: paths quote keys that are not plain names") {
    CHECK(key_path("", "items") == "items");
    CHECK(key_path("items[0]", "metadata") == "items[0].metadata");
    CHECK(key_path("items[0].metadata.annotations", "projectcalico.org/IPv4Address") ==
          "items[0].metadata.annotations[\"projectcalico.org/IPv4Address\"]");
    CHECK(key_path("", "0x") == "[\"0x\"]");
    const json doc = json::parse(R"({"annotations": {"a.b": 1}, "n": 5000000000})");
    CHECK(bad_of([&] { string_at(doc.at("annotations"), "a.b", "annotations"); }) ==
          "annotations[\"a.b\"]: expected a string, got number");
    CHECK(bad_of([&] { unsigned_at(doc, "n", ""); }) == "n: 5000000000 is too large");
}
