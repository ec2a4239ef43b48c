// kubectl podtrace's pure parts: durations, and what it reads from kubectl's JSON.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "kube/session.hpp"

using podtrace::kube::node_names;
using podtrace::kube::parse_duration;
using podtrace::kube::pod_places;

TEST_CASE("durations as kubectl users write them", "[kube]") {
    CHECK(parse_duration("30s") == 30.0);
    CHECK(parse_duration("30") == 30.0);
    CHECK(parse_duration("2m") == 120.0);
    CHECK(parse_duration("1h") == 3600.0);
    CHECK(parse_duration("500ms") == Approx(0.5));
    CHECK(parse_duration("1.5s") == 1.5);
    for (const char* bad : {"", "s", "10parsecs", "0", "-3s", "nan", "inf", "3 s", "1d"})
        CHECK_FALSE(parse_duration(bad).has_value());
}

TEST_CASE("pods and nodes from kubectl's List documents", "[kube]") {
    const std::string pods = R"({"apiVersion": "v1", "kind": "List", "items": [
        {"metadata": {"name": "pod1", "namespace": "default"},
         "spec": {"nodeName": "k8s-w1"}, "status": {"podIP": "172.16.158.1"}},
        {"metadata": {"name": "pending", "namespace": "web"}, "spec": {}, "status": {}}]})";
    const auto places = pod_places(pods);
    REQUIRE(places.has_value());
    const auto& p = *places;
    REQUIRE(p.size() == 2);
    CHECK(p[0].ns == "default");
    CHECK(p[0].name == "pod1");
    CHECK(p[0].node == "k8s-w1");
    CHECK(p[0].ip == "172.16.158.1");
    CHECK(p[1].node.empty());  // not scheduled: no node to capture on
    CHECK(node_names(R"({"items": [{"metadata": {"name": "k8s-w1"}}, {"metadata": {"name": "k8s-w2"}}]})") ==
          std::vector<std::string>{"k8s-w1", "k8s-w2"});
    auto error_of = [](const auto& parsed) { return parsed ? "(parsed)" : parsed.error().message; };
    CHECK_THAT(error_of(pod_places("{\"items\": [{}]}")), Catch::Contains("not a pod list"));
    CHECK_THAT(error_of(pod_places("<html>")), Catch::Contains("not a pod list"));
    CHECK_THAT(error_of(node_names("{}")), Catch::Contains("not a node list"));
}
