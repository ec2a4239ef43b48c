#include <catch2/catch.hpp>

#include "probes/capture_point.hpp"

using podtrace::probes::capture_point;
using podtrace::probes::parse_file_arg;

TEST_CASE("NODE=PATH names the node; an existing path is never split") {
    auto a = parse_file_arg("k8s-w2=/tmp/x/ens5.pcap");
    CHECK(a.node == "k8s-w2");
    CHECK(a.path == "/tmp/x/ens5.pcap");
    CHECK(parse_file_arg("plain.pcap").node.empty());
    CHECK(parse_file_arg("dir/a=b.pcap").path == "dir/a=b.pcap");  // '/' before '=': a path
    CHECK(parse_file_arg("=x.pcap").path == "=x.pcap");
}

TEST_CASE("capture point: annotation, then NODE=, then the file stem") {
    CHECK(capture_point({"cap.pcapng", "argnode"}, "k8s-w1", "ens5").node == "k8s-w1");
    auto from_arg = capture_point({"/tmp/cap.pcap", "k8s-w2"}, "", "");
    CHECK(from_arg.node == "k8s-w2");
    CHECK(from_arg.interface.empty());
    auto from_stem = capture_point({"examples/crafted/ipip/k8s-w1_tunl0.pcap", ""}, "", "");
    CHECK(from_stem.node == "k8s-w1");
    CHECK(from_stem.interface == "tunl0");
    auto plain = capture_point({"/x/k8s-w0.pcap", ""}, "", "eth0");
    CHECK(plain.node == "k8s-w0");
    CHECK(plain.interface == "eth0");
    auto named = capture_point({"/x/k8s-w0_ens5.pcapng", ""}, "", "vxlan.calico");
    CHECK(named.node == "k8s-w0");
    CHECK(named.interface == "vxlan.calico");
}
