#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace podtrace;
using namespace podtrace::test;
using decode::Proto;
using decode::Reason;
using decode::Status;
namespace lt = core::linktype;

namespace {
// pod1 -> pod3 ICMP echo as it leaves pod1.
Tins::IP pod_ping() {
    Tins::ICMP icmp(Tins::ICMP::ECHO_REQUEST);
    icmp.id(7);
    icmp.sequence(1);
    Tins::IP ip("172.16.184.4", "172.16.158.1");
    ip.ttl(64);
    ip.id(0xbeef);
    ip.flags(Tins::IP::DONT_FRAGMENT);
    ip /= icmp / Tins::RawPDU(std::string(56, 'p'));
    return ip;
}
Tins::IP node_ip() {
    Tins::IP outer("192.168.10.102", "192.168.10.101");
    outer.id(0x1111);
    return outer;
}
}  // namespace

TEST_CASE("IPIP: outer node addresses, inner pod packet") {
    auto pkt = Tins::EthernetII() / node_ip() / pod_ping();
    auto d = decode_bytes(bytes_of(pkt));
    REQUIRE(d.status == Status::ok);
    REQUIRE(d.nlayers == 4);
    CHECK(layer(d, 1).ip.proto == 4);
    CHECK(v4(layer(d, 1).ip.src) == v4("192.168.10.101"));
    CHECK(v4(layer(d, 2).ip.src) == v4("172.16.158.1"));
    CHECK(d.inner_ip == 2);
    CHECK(d.encap_depth == 1);
    CHECK(d.outer_ip == 1);
    CHECK(d.tunnel == 2);  // the inner IP header is the tunnel
    CHECK(layer(d, 3).icmp.seq == 1);

    auto cut = bytes_of(pkt);
    cut.resize(14 + 20 + 10);
    auto t = decode_bytes(cut, lt::ethernet, static_cast<std::uint32_t>(bytes_of(pkt).size()));
    CHECK(t.reason == Reason::ipv4_truncated);
}

TEST_CASE("IPv6-in-IPv4 (protocol 41)") {
    auto pkt =
        Tins::IP("192.0.2.2", "192.0.2.1") / Tins::IPv6("fd00::2", "fd00::1") / Tins::UDP(53, 1000);
    auto d = decode_bytes(bytes_of(pkt), lt::raw);
    REQUIRE(d.status == Status::ok);
    CHECK(layer(d, 0).ip.proto == 41);
    CHECK(layer(d, 1).proto == Proto::ipv6);
    CHECK(d.encap_depth == 1);
}

TEST_CASE("tunnels deeper than the limit are malformed, never a loop") {
    Tins::IP inner("10.0.0.2", "10.0.0.1");
    Tins::IP pkt = inner;
    for (int i = 0; i < decode::kMaxEncap + 1; ++i) {
        Tins::IP wrap("10.0.0.2", "10.0.0.1");
        wrap /= pkt;
        pkt = wrap;
    }
    auto d = decode_bytes(bytes_of(pkt), lt::raw);
    CHECK(d.status == Status::malformed);
    CHECK(d.reason == Reason::encap_too_deep);
    CHECK(d.encap_depth == decode::kMaxEncap + 1);
}

TEST_CASE("VXLAN: VNI and the inner Ethernet frame; ports are configurable") {
    auto inner = Tins::EthernetII("66:00:00:00:00:02", "66:00:00:00:00:01") / pod_ping();
    auto pkt = Tins::EthernetII() / node_ip() / Tins::UDP(4789, 51234) /
               Tins::RawPDU(vxlan_payload(4096, bytes_of(inner)));
    auto d = decode_bytes(bytes_of(pkt));
    REQUIRE(d.status == Status::ok);
    REQUIRE(d.nlayers == 7);
    CHECK(layer(d, 3).proto == Proto::vxlan);
    CHECK(layer(d, 3).vxlan.vni == 4096);
    CHECK(layer(d, 4).proto == Proto::ethernet);
    CHECK(v4(layer(d, 5).ip.dst) == v4("172.16.184.4"));
    CHECK(d.encap_depth == 1);
    CHECK(d.outer_ip == 1);
    CHECK(d.tunnel == 3);

    auto p8472 = Tins::EthernetII() / node_ip() / Tins::UDP(8472, 51234) /
                 Tins::RawPDU(vxlan_payload(1, bytes_of(inner)));
    CHECK(layer(decode_bytes(bytes_of(p8472)), 3).proto == Proto::vxlan);

    auto custom = Tins::EthernetII() / node_ip() / Tins::UDP(4790, 51234) /
                  Tins::RawPDU(vxlan_payload(1, bytes_of(inner)));
    CHECK(decode_bytes(bytes_of(custom)).nlayers == 3);  // plain UDP by default
    decode::Ports ports;
    REQUIRE(decode::add_port(ports.vxlan, 4790));
    CHECK(layer(decode_bytes(bytes_of(custom), lt::ethernet, 0, ports), 3).proto == Proto::vxlan);

    auto noflag = Tins::EthernetII() / node_ip() / Tins::UDP(4789, 51234) /
                  Tins::RawPDU(vxlan_payload(1, bytes_of(inner), 0x00));
    CHECK(decode_bytes(bytes_of(noflag)).reason == Reason::vxlan_bad_flags);
    auto b = bytes_of(pkt);
    b.resize(14 + 20 + 8 + 5);
    CHECK(decode_bytes(b, lt::ethernet, 200).reason == Reason::vxlan_truncated);
}

TEST_CASE("Geneve with options, carrying Ethernet") {
    auto inner = Tins::EthernetII() / pod_ping();
    auto ib = bytes_of(inner);
    Bytes g{0x01, 0x00, 0x65, 0x58, 0x00, 0x00, 0x0a, 0x00, 1, 2, 3, 4};  // 1 word of options
    g.insert(g.end(), ib.begin(), ib.end());
    auto pkt = Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(6081, 1000) / Tins::RawPDU(g);
    auto d = decode_bytes(bytes_of(pkt), lt::raw);
    REQUIRE(d.status == Status::ok);
    CHECK(layer(d, 2).proto == Proto::geneve);
    CHECK(layer(d, 2).geneve.vni == 10);
    CHECK(layer(d, 2).geneve.options_len == 4);
    CHECK(layer(d, 3).proto == Proto::ethernet);
    CHECK(d.outer_ip == 0);
    CHECK(d.tunnel == 2);
    g[0] = 0x41;  // version 1
    auto bad = Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(6081, 1000) / Tins::RawPDU(g);
    CHECK(decode_bytes(bytes_of(bad), lt::raw).reason == Reason::geneve_bad_version);
}

TEST_CASE("GRE with key carrying IPv4") {
    auto ping = pod_ping();
    auto inner = bytes_of(ping);
    Bytes g{0x20, 0x00, 0x08, 0x00, 0, 0, 0, 42};
    g.insert(g.end(), inner.begin(), inner.end());
    Tins::IP outer("10.0.0.2", "10.0.0.1");
    outer.protocol(47);
    auto pkt = outer / Tins::RawPDU(g);
    auto d = decode_bytes(bytes_of(pkt), lt::raw);
    REQUIRE(d.status == Status::ok);
    CHECK(layer(d, 1).proto == Proto::gre);
    CHECK(layer(d, 1).gre.key == 42);
    CHECK(layer(d, 2).proto == Proto::ipv4);
    CHECK(d.encap_depth == 1);
    CHECK(d.tunnel == 1);  // GRE, not the IP header inside it
}

TEST_CASE("the outermost IP header and tunnel: none for a plain packet, none in an ICMP quote") {
    auto ping = Tins::EthernetII() / pod_ping();
    auto plain = decode_bytes(bytes_of(ping));
    CHECK(plain.outer_ip == 1);
    CHECK(plain.tunnel == decode::kNone);

    // A node's frag-needed quoting an IPIP packet: the quote's two IP headers are no tunnel.
    Tins::ICMP err(Tins::ICMP::DEST_UNREACHABLE);
    err.code(4);
    auto quoted = node_ip() / pod_ping();
    auto pkt = Tins::EthernetII() / Tins::IP("192.168.10.101", "192.168.10.1") / err /
               Tins::RawPDU(bytes_of(quoted));
    auto d = decode_bytes(bytes_of(pkt));
    REQUIRE(d.quoted_ip != decode::kNone);
    CHECK(d.outer_ip == 1);
    CHECK(d.tunnel == decode::kNone);
}

TEST_CASE("WireGuard: the four message types and their clear fields") {
    auto wg = [](const Bytes& msg, std::uint16_t sport = 51820, std::uint16_t dport = 51820) {
        auto pkt = Tins::IP("192.168.10.102", "192.168.10.101") / Tins::UDP(dport, sport) /
                   Tins::RawPDU(msg);
        return decode_bytes(bytes_of(pkt), lt::raw);
    };
    Bytes init(148, 0x11);
    init[0] = 1;
    init[1] = init[2] = init[3] = 0;
    put_le32(init, 4, 0xa1b2c3d4);
    auto d1 = wg(init);
    REQUIRE(d1.status == Status::ok);
    CHECK(layer(d1, 2).wg.type == 1);
    CHECK(layer(d1, 2).wg.sender == 0xa1b2c3d4);

    Bytes resp(92, 0x22);
    resp[0] = 2;
    resp[1] = resp[2] = resp[3] = 0;
    put_le32(resp, 4, 7);
    put_le32(resp, 8, 0xa1b2c3d4);
    auto d2 = wg(resp);
    CHECK(layer(d2, 2).wg.sender == 7);
    CHECK(layer(d2, 2).wg.receiver == 0xa1b2c3d4);

    Bytes cookie(64, 0x33);
    cookie[0] = 3;
    cookie[1] = cookie[2] = cookie[3] = 0;
    put_le32(cookie, 4, 99);
    CHECK(layer(wg(cookie), 2).wg.receiver == 99);

    auto d4 = wg(wg_data(0xa1b2c3d4, 0x0102030405ull, 84), 40000, 51820);
    REQUIRE(d4.status == Status::ok);
    const auto& w = layer(d4, 2).wg;
    CHECK(w.type == 4);
    CHECK(w.receiver == 0xa1b2c3d4);
    CHECK(w.counter == 0x0102030405ull);
    CHECK(w.payload_len == 96 + 16);  // 84 padded to 96, plus the tag
    CHECK(d4.inner_ip == 0);          // the plaintext stays opaque

    // Linux pads to 16 but not past the MTU: a 1420-byte plaintext makes a 1452-byte message.
    auto full_mtu = wg(wg_data(3, 4, 1420 - 16 - 16 - 16 + 4));
    CHECK(full_mtu.status == Status::ok);
    Bytes mtu_msg = wg_data(3, 4, 1408);
    mtu_msg.resize(1452);
    CHECK(layer(wg(mtu_msg), 2).wg.payload_len == 1436);
    CHECK(wg(Bytes(mtu_msg.begin(), mtu_msg.begin() + 31)).reason == Reason::wireguard_bad_message);

    auto bad_size = wg(Bytes(init.begin(), init.begin() + 100));
    CHECK(bad_size.reason == Reason::wireguard_bad_message);
    auto reserved = init;
    reserved[2] = 1;
    CHECK(wg(reserved).reason == Reason::wireguard_bad_message);

    auto pkt = Tins::IP("192.168.10.102", "192.168.10.101") / Tins::UDP(51820, 51820) /
               Tins::RawPDU(wg_data(1, 2, 84));
    auto b = bytes_of(pkt);
    Bytes cut(b.begin(), b.begin() + 28 + 10);
    CHECK(decode_bytes(cut, lt::raw, static_cast<std::uint32_t>(b.size())).reason ==
          Reason::wireguard_truncated);

    decode::Ports ports;
    REQUIRE(decode::add_port(ports.wireguard, 41641));
    auto other = Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(41641, 41641) /
                 Tins::RawPDU(wg_data(5, 6, 16));
    CHECK(decode_bytes(bytes_of(other), lt::raw).nlayers == 2);
    CHECK(layer(decode_bytes(bytes_of(other), lt::raw, 0, ports), 2).wg.receiver == 5);
}
