#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace podtrace;
using namespace podtrace::test;
using decode::Proto;
using decode::Reason;
using decode::Status;
namespace lt = core::linktype;

TEST_CASE("TCP flags, seq/ack, window and options length") {
    Tins::TCP tcp(80, 40000);
    tcp.seq(1000);
    tcp.ack_seq(2000);
    tcp.flags(Tins::TCP::SYN | Tins::TCP::ACK);
    tcp.window(64240);
    tcp.mss(1460);
    auto pkt = Tins::IP("172.16.184.4", "172.16.158.1") / tcp;
    auto d = decode_bytes(bytes_of(pkt), lt::raw);
    REQUIRE(d.status == Status::ok);
    const auto& t = layer(d, 1).tcp;
    CHECK(t.sport == 40000);
    CHECK(t.dport == 80);
    CHECK(t.seq == 1000);
    CHECK(t.ack == 2000);
    CHECK(t.flags == 0x12);
    CHECK(t.window == 64240);
    CHECK(t.options_len == 4);
    CHECK(d.payload_len == 0);

    auto b = bytes_of(pkt);
    b[20 + 12] = 0x40;  // data offset 4 words < 5
    CHECK(decode_bytes(b, lt::raw).reason == Reason::tcp_bad_offset);
    Bytes cut(b.begin(), b.begin() + 30);
    auto c = decode_bytes(cut, lt::raw, 44);
    CHECK(c.reason == Reason::tcp_truncated);
}

TEST_CASE("UDP length is checked against the IP payload") {
    auto pkt = Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(53, 1000) / Tins::RawPDU("abcdef");
    auto b = bytes_of(pkt);
    auto d = decode_bytes(b, lt::raw);
    CHECK(layer(d, 1).udp.length == 14);
    CHECK(d.payload_len == 6);
    auto small = b;
    small[25] = 4;
    CHECK(decode_bytes(small, lt::raw).reason == Reason::udp_bad_length);
    auto big = b;
    big[25] = 200;
    CHECK(decode_bytes(big, lt::raw).reason == Reason::udp_bad_length);
    Bytes cut(b.begin(), b.begin() + 24);
    CHECK(decode_bytes(cut, lt::raw, 34).reason == Reason::udp_truncated);
}

TEST_CASE("ICMP echo: id and seq") {
    Tins::ICMP icmp(Tins::ICMP::ECHO_REQUEST);
    icmp.id(7);
    icmp.sequence(1);
    auto pkt = Tins::IP("172.16.184.4", "172.16.158.1") / icmp / Tins::RawPDU(std::string(56, 'p'));
    auto d = decode_bytes(bytes_of(pkt), lt::raw);
    REQUIRE(d.status == Status::ok);
    CHECK(layer(d, 1).icmp.type == 8);
    CHECK(layer(d, 1).icmp.id == 7);
    CHECK(layer(d, 1).icmp.seq == 1);
    CHECK_FALSE(layer(d, 1).icmp.is_error);
    CHECK(d.payload_len == 56);
    auto b = bytes_of(pkt);
    Bytes cut(b.begin(), b.begin() + 22);
    CHECK(decode_bytes(cut, lt::raw, static_cast<std::uint32_t>(b.size())).reason ==
          Reason::icmp_truncated);
}

TEST_CASE("ICMP frag-needed quotes the offending TCP segment") {
    // What a node sends a pod whose DF packet exceeds tunl0's MTU.
    Tins::TCP quoted_tcp(80, 40000);
    quoted_tcp.seq(123456);
    Tins::IP quoted_ip("172.16.184.4", "172.16.158.1");
    quoted_ip.id(4242);
    quoted_ip.flags(Tins::IP::DONT_FRAGMENT);
    auto quoted = quoted_ip / quoted_tcp / Tins::RawPDU(std::string(2000, 'q'));
    auto qb = bytes_of(quoted);
    qb.resize(20 + 8);  // RFC 792: the IP header and the first 8 bytes
    Tins::ICMP icmp(Tins::ICMP::DEST_UNREACHABLE);
    icmp.code(4);
    icmp.mtu(8981);
    auto pkt = Tins::IP("172.16.158.1", "192.168.10.101") / icmp / Tins::RawPDU(qb);
    auto d = decode_bytes(bytes_of(pkt), lt::raw);
    REQUIRE(d.status == Status::ok);
    REQUIRE(d.nlayers == 4);
    CHECK(layer(d, 1).icmp.is_error);
    CHECK(layer(d, 1).icmp.mtu == 8981);
    CHECK(d.inner_ip == 0);
    CHECK(d.inner_l4 == 1);
    CHECK(d.quoted_ip == 2);
    CHECK(layer(d, 2).quoted);
    CHECK(layer(d, 2).ip.id == 4242);
    CHECK(layer(d, 2).ip.total_len == 2040);
    CHECK(layer(d, 3).proto == Proto::tcp);
    CHECK(layer(d, 3).quoted);
    CHECK(layer(d, 3).tcp.seq == 123456);
    CHECK(layer(d, 3).tcp.captured == 8);
}

TEST_CASE("ICMPv6 packet-too-big quotes an IPv6 packet; echo has id/seq") {
    auto q = Tins::IPv6("fd00::2", "fd00::1") / Tins::UDP(53, 1000) /
             Tins::RawPDU(std::string(1400, 'u'));
    Bytes quoted = bytes_of(q);
    quoted.resize(1232);
    // libtins has no packet-too-big MTU setter: type 2, code 0, checksum, MTU 1280.
    Bytes ptb{2, 0, 0, 0, 0, 0, 0x05, 0x00};
    ptb.insert(ptb.end(), quoted.begin(), quoted.end());
    Tins::IPv6 outer("fd00::1", "fd00::fe");
    outer.next_header(58);
    auto pkt = outer / Tins::RawPDU(ptb);
    auto d = decode_bytes(bytes_of(pkt), lt::ipv6);
    REQUIRE(d.status == Status::ok);
    CHECK(layer(d, 1).proto == Proto::icmpv6);
    CHECK(layer(d, 1).icmp.mtu == 1280);
    CHECK(layer(d, 2).quoted);
    CHECK(layer(d, 3).udp.dport == 53);

    Tins::ICMPv6 echo(Tins::ICMPv6::ECHO_REQUEST);
    echo.identifier(9);
    echo.sequence(3);
    auto echo_pkt = Tins::IPv6("fd00::2", "fd00::1") / echo;
    auto e = decode_bytes(bytes_of(echo_pkt), lt::ipv6);
    CHECK(layer(e, 1).icmp.id == 9);
    CHECK(layer(e, 1).icmp.seq == 3);
}
