#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace podtrace;
using namespace podtrace::test;
namespace lt = core::linktype;

namespace {
// pod1 -> pod3 TCP segment with a given TTL, source and destination.
Tins::IP segment(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport,
                 std::uint8_t ttl, std::uint32_t seq = 5000,
                 const std::string& data = "GET / HTTP/1.1\r\n") {
    Tins::TCP tcp(dport, sport);
    tcp.seq(seq);
    tcp.ack_seq(9000);
    tcp.flags(Tins::TCP::PSH | Tins::TCP::ACK);
    tcp.window(502);
    Tins::IP ip(dst, src);
    ip.ttl(ttl);
    ip.id(0x4d2);
    ip.flags(Tins::IP::DONT_FRAGMENT);
    ip.tos(ttl == 64 ? 0 : 0x10);  // DSCP may be rewritten on the way: not identity
    ip /= tcp / Tins::RawPDU(data);
    return ip;
}

std::uint64_t fp(const Bytes& b, std::uint32_t type) {
    auto d = decode_bytes(b, type);
    REQUIRE(d.status == decode::Status::ok);
    return d.fingerprint;
}
}  // namespace

TEST_CASE("the same packet gets one fingerprint at every Calico capture point") {
    auto at_pod = segment("172.16.158.1", 40000, "172.16.184.4", 80, 64);
    auto after_hop = segment("172.16.158.1", 40000, "172.16.184.4", 80, 63);
    auto at_dest = segment("172.16.158.1", 40000, "172.16.184.4", 80, 62);

    auto cali = Tins::EthernetII("ee:ee:ee:ee:ee:ee", "66:00:00:00:00:01") / at_pod;
    Bytes tunl0 = bytes_of(after_hop);  // raw IP
    auto ens5_ipip = Tins::EthernetII() / Tins::IP("192.168.10.102", "192.168.10.101") / after_hop;
    auto inner_eth = Tins::EthernetII("66:00:00:00:00:02", "66:00:00:00:00:03") / after_hop;
    auto ens5_vxlan = Tins::EthernetII() / Tins::IP("192.168.10.102", "192.168.10.101") /
                      Tins::UDP(4789, 61000) /
                      Tins::RawPDU(vxlan_payload(4096, bytes_of(inner_eth)));
    auto dest_cali = Tins::EthernetII("66:00:00:00:00:04", "ee:ee:ee:ee:ee:ee") / at_dest;

    std::uint64_t ref = fp(bytes_of(cali), lt::ethernet);
    CHECK(fp(tunl0, lt::raw) == ref);
    CHECK(fp(bytes_of(ens5_ipip), lt::ethernet) == ref);
    CHECK(fp(bytes_of(ens5_vxlan), lt::ethernet) == ref);
    CHECK(fp(bytes_of(dest_cali), lt::ethernet) == ref);
}

TEST_CASE("SNAT and DNAT do not change the fingerprint") {
    auto before = Tins::EthernetII() / segment("172.16.158.1", 40000, "203.0.113.10", 443, 64);
    auto snat = Tins::EthernetII() / segment("192.168.10.101", 61234, "203.0.113.10", 443, 63);
    CHECK(fp(bytes_of(before), lt::ethernet) == fp(bytes_of(snat), lt::ethernet));
    auto to_svc = Tins::EthernetII() / segment("172.16.158.2", 40001, "10.200.1.10", 80, 64);
    auto dnat = Tins::EthernetII() / segment("172.16.158.2", 40001, "172.16.184.4", 8080, 63);
    CHECK(fp(bytes_of(to_svc), lt::ethernet) == fp(bytes_of(dnat), lt::ethernet));

    // ICMP echo: MASQUERADE --random-fully may rewrite the identifier like a port.
    auto ping = [](const char* src, std::uint16_t id) {
        Tins::ICMP icmp(Tins::ICMP::ECHO_REQUEST);
        icmp.id(id);
        icmp.sequence(3);
        auto p = Tins::IP("203.0.113.10", src) / icmp / Tins::RawPDU("0123456789abcdef");
        return bytes_of(p);
    };
    CHECK(fp(ping("172.16.158.1", 7), lt::raw) == fp(ping("192.168.10.101", 31000), lt::raw));
}

TEST_CASE("different packets get different fingerprints") {
    auto base_ip = segment("172.16.158.1", 40000, "172.16.184.4", 80, 64);
    auto base = bytes_of(base_ip);
    auto other_seq = segment("172.16.158.1", 40000, "172.16.184.4", 80, 64, 5001);
    auto other_data =
        segment("172.16.158.1", 40000, "172.16.184.4", 80, 64, 5000, "GET /x HTTP/1.1\r\n");
    std::uint64_t ref = fp(base, lt::raw);
    CHECK(fp(bytes_of(other_seq), lt::raw) != ref);
    CHECK(fp(bytes_of(other_data), lt::raw) != ref);
}

TEST_CASE("a snaplen that cuts the payload digest marks the fingerprint partial") {
    auto ip = segment("172.16.158.1", 40000, "172.16.184.4", 80, 64);
    auto b = bytes_of(ip);
    auto whole = decode_bytes(b, lt::raw);
    CHECK_FALSE(whole.fingerprint_partial);
    Bytes cut(b.begin(), b.begin() + 40 + 4);
    auto d = decode_bytes(cut, lt::raw, static_cast<std::uint32_t>(b.size()));
    CHECK(d.status == decode::Status::ok);
    CHECK(d.fingerprint_partial);
}

TEST_CASE("an ICMP error is identified by what it quotes, not by NAT-rewritten addresses") {
    auto err = [](const char* quoted_src, std::uint16_t quoted_sport) {
        Tins::TCP t(80, quoted_sport);
        t.seq(777);
        Tins::IP q("172.16.184.4", quoted_src);
        q.id(31);
        auto quoted = q / t / Tins::RawPDU(std::string(100, 'x'));
        auto qb = bytes_of(quoted);
        qb.resize(28);
        Tins::ICMP icmp(Tins::ICMP::DEST_UNREACHABLE);
        icmp.code(4);
        icmp.mtu(1430);
        auto p = Tins::IP(quoted_src, "192.168.10.101") / icmp / Tins::RawPDU(qb);
        return bytes_of(p);
    };
    CHECK(fp(err("172.16.158.1", 40000), lt::raw) == fp(err("192.168.10.101", 61000), lt::raw));
}
