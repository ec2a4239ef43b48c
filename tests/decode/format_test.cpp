#include <catch2/catch.hpp>

#include "decode/format.hpp"
#include "helpers.hpp"

using namespace podtrace;
using namespace podtrace::test;
namespace lt = core::linktype;

namespace {
std::string line(const Bytes& b, std::uint32_t type = lt::ethernet, decode::FormatOptions opt = {},
                 std::uint32_t wirelen = 0) {
    auto d = decode_bytes(b, type, wirelen);
    std::string s;
    decode::format_layers(d, opt, s);
    return s;
}
}  // namespace

TEST_CASE("IPIP is shown as the outer header, then the inner packet") {
    Tins::ICMP icmp(Tins::ICMP::ECHO_REQUEST);
    icmp.id(7);
    icmp.sequence(1);
    auto pkt = Tins::EthernetII() / Tins::IP("192.168.10.102", "192.168.10.101") /
               Tins::IP("172.16.184.4", "172.16.158.1") / icmp / Tins::RawPDU(std::string(56, 'x'));
    CHECK(line(bytes_of(pkt)) ==
          " 192.168.10.101 > 192.168.10.102 IPIP | 172.16.158.1 > 172.16.184.4 ICMP echo request "
          "id 7 seq 1 len 56");
}

TEST_CASE("VXLAN, WireGuard, TCP flags, ARP and ICMP errors read like tcpdump") {
    Tins::TCP tcp(80, 40000);
    tcp.flags(Tins::TCP::SYN);
    tcp.seq(1);
    tcp.window(64240);
    auto inner = Tins::EthernetII() / Tins::IP("172.16.184.4", "172.16.158.1") / tcp;
    auto vx = Tins::EthernetII() / Tins::IP("192.168.10.102", "192.168.10.101") /
              Tins::UDP(4789, 54321) / Tins::RawPDU(vxlan_payload(4096, bytes_of(inner)));
    CHECK(line(bytes_of(vx)) ==
          " 192.168.10.101.54321 > 192.168.10.102.4789 VXLAN vni 4096 | 172.16.158.1.40000 > "
          "172.16.184.4.80 TCP [S] seq 1 win 64240 len 0");

    auto wg = Tins::IP("192.168.10.102", "192.168.10.101") / Tins::UDP(51820, 51820) /
              Tins::RawPDU(wg_data(0x1234abcd, 42, 84));
    CHECK(line(bytes_of(wg), lt::raw) ==
          " 192.168.10.101.51820 > 192.168.10.102.51820 WireGuard data receiver 0x1234abcd "
          "counter 42 len 112");

    auto arp = Tins::ARP::make_arp_request("169.254.1.1", "172.16.158.1", "66:77:88:99:aa:bb");
    CHECK(line(bytes_of(arp)) == " ARP who-has 169.254.1.1 tell 172.16.158.1");

    Tins::IP q("172.16.184.4", "172.16.158.1");
    auto quoted = q / Tins::UDP(53, 1000) / Tins::RawPDU(std::string(64, 'q'));
    auto qb = bytes_of(quoted);
    qb.resize(28);
    Tins::ICMP icmp(Tins::ICMP::DEST_UNREACHABLE);
    icmp.code(4);
    icmp.mtu(1430);
    auto err = Tins::IP("172.16.158.1", "192.168.10.101") / icmp / Tins::RawPDU(qb);
    CHECK(line(bytes_of(err), lt::raw) ==
          " 192.168.10.101 > 172.16.158.1 ICMP frag-needed mtu 1430 | quoted 172.16.158.1.1000 > "
          "172.16.184.4.53 UDP");
}

TEST_CASE("verbose adds TTL, ID, DF, length and fingerprint; problems are named") {
    Tins::IP ip("10.0.0.2", "10.0.0.1");
    ip.ttl(9);
    ip.id(5);
    ip.flags(Tins::IP::DONT_FRAGMENT);
    auto pkt = ip / Tins::UDP(53, 1000) / Tins::RawPDU("abc");
    std::string v = line(bytes_of(pkt), lt::raw, {.verbose = true});
    CHECK(v.rfind(" 10.0.0.1.1000 > 10.0.0.2.53 (ttl 9, id 5, DF, len 31) UDP len 3 fp ", 0) == 0);

    auto b = bytes_of(pkt);
    b.resize(24);
    CHECK(line(b, lt::raw, {}, 31) == " 10.0.0.1 > 10.0.0.2 UDP [truncated: udp-truncated]");
}
