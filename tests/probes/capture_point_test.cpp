#include <catch2/catch.hpp>

#include "probes/capture_point.hpp"

using podtrace::probes::capture_point;
using podtrace::probes::parse_file_arg;

TEST_CASE("NODE=PATH names the node; an existing path is never split") {
    auto a = parse_file_arg("k8s-w2=/tmp/x/ens5.pcap");
    CHECK(a.node == "k8s-w2");
    CHECK(a.path == "/tmp/x/ens5.pcap");
    CHECK(parse_file_arg("plain.pcap").node.empty());
    CHECK(parse_file_arg("dir/sub/a=b.pcap").path == "dir/sub/a=b.pcap");  // two '/': a path
    CHECK(parse_file_arg("./a=b.pcap").path == "./a=b.pcap");
    CHECK(parse_file_arg("k8s-w1/a-name-past-15-chars=b.pcap").node.empty());
    CHECK(parse_file_arg("=x.pcap").path == "=x.pcap");
}

TEST_CASE("NODE/IFACE=PATH names both") {
    auto a = parse_file_arg("k8s-w1/tunl0=calico-ipip-tunl0.cap");
    CHECK(a.path == "calico-ipip-tunl0.cap");
    CHECK(a.node == "k8s-w1");
    CHECK(a.interface == "tunl0");
    // The file's own names win, and Overridden says so; unnamed, the command line's count.
    auto from_arg = capture_point(a, "", "");
    CHECK(from_arg.node == "k8s-w1");
    CHECK(from_arg.interface == "tunl0");
    CHECK(capture_point(a, "", "any").interface == "any");
    podtrace::probes::Overridden same(a);
    same.add("", "");
    same.add("k8s-w1", "tunl0");
    CHECK(same.text().empty());
    podtrace::probes::Overridden any(a);
    any.add("", "any");
    CHECK(any.text() == "the file names interface any: kept, k8s-w1/tunl0= not used");
    podtrace::probes::Overridden many(a);
    for (const char* i : {"eth0", "tunl0", "cali1", "eth0"}) many.add("k8s-w2", i);
    CHECK(many.text() ==
          "the file names node k8s-w2 and interfaces eth0, cali1: kept, k8s-w1/tunl0= not used");
    const podtrace::probes::FileArg node_only{"x.pcapng", "k8s-w1", ""};
    podtrace::probes::Overridden node(node_only);
    node.add("k8s-w2", "eth0");
    CHECK(node.text() == "the file names node k8s-w2: kept, k8s-w1= not used");
}

TEST_CASE("capture point: annotation, then NODE=, then the file stem") {
    CHECK(capture_point({"cap.pcapng", "argnode", ""}, "k8s-w1", "ens5").node == "k8s-w1");
    auto from_arg = capture_point({"/tmp/cap.pcap", "k8s-w2", ""}, "", "");
    CHECK(from_arg.node == "k8s-w2");
    CHECK(from_arg.interface.empty());
    auto from_stem = capture_point({"examples/crafted/ipip/k8s-w1_tunl0.pcap", "", ""}, "", "");
    CHECK(from_stem.node == "k8s-w1");
    CHECK(from_stem.interface == "tunl0");
    auto plain = capture_point({"/x/k8s-w0.pcap", "", ""}, "", "eth0");
    CHECK(plain.node == "k8s-w0");
    CHECK(plain.interface == "eth0");
    auto named = capture_point({"/x/k8s-w0_ens5.pcapng", "", ""}, "", "vxlan.calico");
    CHECK(named.node == "k8s-w0");
    CHECK(named.interface == "vxlan.calico");
}
