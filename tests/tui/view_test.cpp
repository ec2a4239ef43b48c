#include <catch2/catch.hpp>

#include <sstream>

#include "tui/run.hpp"
#include "tui/view.hpp"

using namespace podtrace::tui;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000'000'000;
constexpr std::int64_t kMs = 1'000'000;

FlowRow flow(std::uint32_t id, std::string proto, std::string src, std::string src_addr,
             std::uint16_t sport, std::string dst, std::string dst_addr, std::uint16_t dport,
             std::string kind, std::string encap) {
    FlowRow f;
    f.id = id;
    f.proto = std::move(proto);
    f.src = std::move(src);
    f.src_addr = std::move(src_addr);
    f.sport = sport;
    f.dst = std::move(dst);
    f.dst_addr = std::move(dst_addr);
    f.dport = dport;
    f.kind = std::move(kind);
    f.encap = std::move(encap);
    return f;
}

HopRow hop(std::string node, std::string iface, std::string point, std::string pod, std::string dir,
           std::string headers, std::string latency, std::uint64_t frame) {
    HopRow h;
    h.node = std::move(node);
    h.interface = std::move(iface);
    h.point = std::move(point);
    h.pod = std::move(pod);
    h.direction = std::move(dir);
    h.headers = std::move(headers);
    h.latency = std::move(latency);
    h.frame = frame;
    return h;
}

const std::string kReq = "172.16.158.1 > 172.16.184.4 ICMP echo request";
const std::string kOuter = "IPIP 192.168.10.101 > 192.168.10.102 | ";
const std::string kRep = "172.16.184.4 > 172.16.158.1 ICMP echo reply";
const std::string kRepOuter = "IPIP 192.168.10.102 > 192.168.10.101 | ";

PacketPath request(std::uint64_t number) {
    PacketPath p;
    p.number = number;
    p.verdict = "cross-node IPIP k8s-w1 -> k8s-w2 6 hops: " + kReq;
    const std::string id = " id " + std::to_string(31530 + number) + " len 84";
    p.hops = {
        hop("k8s-w1", "calice0906292e2", "veth", "default/pod1", "in", kReq + " ttl 64" + id, "",
            100 + number * 10),
        hop("k8s-w1", "tunl0", "tunnel", "", "out", kReq + " ttl 63" + id, "+84.147 us",
            101 + number * 10),
        hop("k8s-w1", "ens5", "nic", "", "out", kOuter + kReq + " ttl 63" + id, "+235.472 us",
            102 + number * 10),
        hop("k8s-w2", "ens5", "nic", "", "in", kOuter + kReq + " ttl 63" + id, "+6.923 us",
            103 + number * 10),
        hop("k8s-w2", "tunl0", "tunnel", "", "in", kReq + " ttl 63" + id, "+104.552 us", 0),
        hop("k8s-w2", "cali49778cadcf1", "veth", "default/pod3", "out", kReq + " ttl 62" + id,
            "+35.737 us", 105 + number * 10),
    };
    return p;
}

PacketPath reply(std::uint64_t number) {
    PacketPath p;
    p.number = number;
    p.reverse = true;
    p.verdict = "cross-node IPIP k8s-w2 -> k8s-w1 6 hops: " + kRep;
    p.hops = {
        hop("k8s-w2", "cali49778cadcf1", "veth", "default/pod3", "in", kRep + " ttl 64", "", 201),
        hop("k8s-w2", "tunl0", "tunnel", "", "out", kRep + " ttl 63", "+6.151 us", 202),
        hop("k8s-w2", "ens5", "nic", "", "out", kRepOuter + kRep + " ttl 63", "+18.615 us", 203),
        hop("k8s-w1", "ens5", "nic", "", "in", kRepOuter + kRep + " ttl 63", "+5.210 us", 204),
        hop("k8s-w1", "tunl0", "tunnel", "", "in", kRep + " ttl 63", "+88.715 us", 205),
        hop("k8s-w1", "calice0906292e2", "veth", "default/pod1", "out", kRep + " ttl 62",
            "+11.442 us", 206),
    };
    return p;
}

// The README's example, five flows: ICMP and TCP across nodes over IPIP, egress with SNAT, a
// service, and a TCP flow dropped on k8s-w2.
Snapshot snapshot() {
    Snapshot s;
    s.source = "3 files, 3 nodes";
    s.state = "end of files";
    s.frames = 355;
    s.packets = 102;
    s.now_ns = kNow;

    FlowRow f3 = flow(3, "ICMP", "default/pod1", "172.16.158.1", 0, "default/pod3", "172.16.184.4",
                      0, "cross-node", "IPIP");
    f3.packets_fwd = f3.packets_rev = 3;
    f3.bytes_fwd = f3.bytes_rev = 252;
    f3.latency_p50_ns = 466'000;
    f3.latency_p99_ns = 480'000;
    f3.last_ns = kNow - 2000 * kMs;

    FlowRow f4 = flow(4, "TCP", "default/pod1", "172.16.158.1", 33986, "default/pod3",
                      "172.16.184.4", 8080, "cross-node", "IPIP");
    f4.packets_fwd = 10;
    f4.packets_rev = 8;
    f4.bytes_fwd = 1500;
    f4.bytes_rev = 3400;
    f4.latency_p50_ns = 300'000;
    f4.latency_p99_ns = 1'200'000;
    f4.last_ns = kNow - 30'000 * kMs;

    FlowRow f7 = flow(7, "TCP", "default/pod2", "172.16.158.2", 40500, "203.0.113.10",
                      "203.0.113.10", 443, "egress", "");
    f7.nat = "SNAT 172.16.158.2:40500 -> 192.168.10.101:61000";
    f7.packets_fwd = 5;
    f7.packets_rev = 4;
    f7.bytes_fwd = 900;
    f7.bytes_rev = 6000;
    f7.latency_p50_ns = 120'000;
    f7.latency_p99_ns = 130'000;
    f7.latency_digits = 6;
    f7.last_ns = kNow - 300 * kMs;

    FlowRow f9 = flow(9, "TCP", "default/pod2", "172.16.158.2", 44946, "default/web (service)",
                      "10.200.1.10", 80, "service", "");
    f9.packets_fwd = f9.packets_rev = 6;
    f9.bytes_fwd = 700;
    f9.bytes_rev = 800;
    f9.last_ns = kNow - 400'000 * kMs;

    FlowRow f10 = flow(10, "TCP", "default/pod1", "172.16.158.1", 54350, "default/pod3",
                       "172.16.184.4", 9999, "cross-node", "IPIP");
    f10.packets_fwd = 2;
    f10.bytes_fwd = 120;
    f10.latency_p50_ns = 230'000;
    f10.latency_p99_ns = 260'000;
    f10.drops = 2;
    f10.findings = 2;
    f10.last_ns = kNow - 5000 * kMs;

    for (FlowRow* f : {&f3, &f4, &f7, &f9, &f10}) {
        f->search = f->src + ' ' + f->src_addr + ' ' + f->dst + ' ' + f->dst_addr + ' ' +
                    std::to_string(f->sport) + ' ' + std::to_string(f->dport) + ' ' + f->proto +
                    ' ' + f->kind + ' ' + f->encap;
        for (char& c : f->search) c = char(std::tolower(static_cast<unsigned char>(c)));
    }
    s.flows = {f3, f4, f7, f9, f10};
    s.findings = {
        "dropped (flow 10): default/pod1 (172.16.158.1) -> default/pod3 (172.16.184.4) TCP: 2 "
        "packets seen on k8s-w2/tunl0, never on k8s-w2/cali49778cadcf1 (capturing then)",
        "no-reply (flow 10): default/pod1 (172.16.158.1) -> default/pod3 (172.16.184.4) TCP: 2 "
        "packets, SYN never answered by a SYN-ACK",
    };
    InterfaceRow w1{"k8s-w1",    "calice0906292e2",
                    "veth",      "default/pod1",
                    "capturing", 68,
                    6800,        2.0,
                    1600,        0,
                    0,           0,
                    {}};
    InterfaceRow ens5{"k8s-w1", "ens5", "nic", "", "capturing",       64, 9000, 4.0,
                      4800,     3,      0,     2,  {{"truncated", 2}}};
    s.interfaces = {w1, ens5};
    s.notes = {"clock k8s-w1: reference",
               "clock k8s-w2: +0.000001 s +/- 4 us (15 packets one way, 13 the other), "
               "corrected"};
    return s;
}

FlowDetail detail3(const Snapshot& s) {
    FlowDetail d;
    d.row = s.flows[0];
    d.kind = "cross-node IPIP";
    d.verdict = "ok, both ways";
    d.ok = true;
    d.packets = {request(4), reply(5), request(6)};
    d.packets_seen = 6;
    d.frames_kept = 30;
    d.hops = {{"k8s-w1/calice0906292e2", "k8s-w1/tunl0", false, 3, "26.624 us", "84.147 us"},
              {"k8s-w1/tunl0", "k8s-w1/ens5", false, 3, "180.224 us", "235.472 us"}};
    return d;
}

FlowDetail detail7(const Snapshot& s) {
    FlowDetail d;
    d.row = s.flows[2];
    d.kind = "egress, SNAT 172.16.158.2:40500 -> 192.168.10.101:61000";
    d.verdict = "ok, both ways";
    d.ok = true;
    PacketPath p;
    p.number = 1;
    p.verdict = "egress k8s-w1 2 hops: 172.16.158.2.40500 > 203.0.113.10.443 TCP [S]";
    p.hops = {hop("k8s-w1", "calibd2348b4f67", "veth", "default/pod2", "in",
                  "172.16.158.2.40500 > 203.0.113.10.443 TCP [S] ttl 64", "", 301),
              hop("k8s-w1", "ens5", "nic", "", "out",
                  "192.168.10.101.61000 > 203.0.113.10.443 TCP [S] ttl 63", "+40 us", 302)};
    p.hops[1].rewrite = "src 172.16.158.2:40500 -> 192.168.10.101:61000";
    d.packets = {p};
    d.packets_seen = 9;
    return d;
}

FlowDetail detail10(const Snapshot& s) {
    FlowDetail d;
    d.row = s.flows[4];
    d.kind = "cross-node IPIP";
    d.verdict = "dropped on k8s-w2 after tunl0, before cali49778cadcf1 (+1 more)";
    d.findings = {s.findings[0], s.findings[1]};
    PacketPath p = request(2);
    p.hops.pop_back();
    p.stopped =
        "dropped on k8s-w2 after tunl0, before cali49778cadcf1: 2 packets seen on "
        "k8s-w2/tunl0, never on k8s-w2/cali49778cadcf1 (capturing then)";
    d.packets = {p};
    d.packets_seen = 2;
    return d;
}

// A Model over fixed snapshots: the detail for the flow asked for, a frame when asked.
class FakeModel : public Model {
public:
    void snapshot(const Query& q, Snapshot& out) override {
        out = snapshot_;
        queries.push_back(q);
        if (q.flow == 3) out.detail = detail3(snapshot_);
        if (q.flow == 7) out.detail = detail7(snapshot_);
        if (q.flow == 10) out.detail = detail10(snapshot_);
        if (q.frame) {
            PacketDetail p;
            p.frame = q.frame;
            p.title = "k8s-w1/ens5 out  2026-11-27 12:00:00.123456789  98 bytes";
            p.tree = {{"Ethernet II, src 0a:58:0a:00:00:01, dst ee:ee:ee:ee:ee:ee", true},
                      {"  type 0x0800 (IPv4)"},
                      {"IPv4, src 192.168.10.101, dst 192.168.10.102", true},
                      {"  ttl 64, id 0x1234, flags DF, total length 104, protocol 4 (IPIP)"},
                      {"ICMP [truncated: 4 of 8 bytes captured]", true, true}};
            for (int i = 0; i < 40; ++i) p.bytes.push_back(std::uint8_t(0x41 + i % 26));
            p.kept = q.frame != 999;
            out.packet = p;
        }
    }
    std::expected<std::string, podtrace::Error> save(std::uint32_t flow,
                                                     const std::string& dir) override {
        saved.push_back(flow);
        if (dir == "/nonexistent")
            return std::unexpected(podtrace::Error{"cannot write /nonexistent/x.pcapng"});
        return "saved 14 frames of flow " + std::to_string(flow) + " to " + dir + "/podtrace-flow" +
               std::to_string(flow) + ".pcapng";
    }
    bool done() const override { return true; }
    void stop() override {}

    Snapshot snapshot_ = ::snapshot();
    std::vector<Query> queries;
    std::vector<std::uint32_t> saved;
};

// A --snapshot run: the text rows and the style rows.
struct Shot {
    std::vector<std::string> text, styles;

    // The first row holding `needle`, or -1.
    int find(std::string_view needle) const {
        for (std::size_t y = 0; y < text.size(); ++y) {
            if (text[y].find(needle) != std::string::npos) return int(y);
        }
        return -1;
    }
    // The cell column where `needle` starts in row y (code points, as the canvas counts).
    int column(int y, std::string_view needle) const {
        const std::string& row = text[std::size_t(y)];
        return int(utf32(row.substr(0, row.find(needle))).size());
    }
    // The styles of `n` cells from (x, y), ' ' past the trimmed end.
    std::string style(int y, int x, int n) const {
        std::string out;
        const std::string& row = styles[std::size_t(y)];
        for (int i = x; i < x + n; ++i) {
            out += std::size_t(i) < row.size() ? row[std::size_t(i)] : ' ';
        }
        return out;
    }
    // The style of the text `needle` in the first row holding it.
    std::string style_of(std::string_view needle) const {
        const int y = find(needle);
        if (y < 0) return "(not found)";
        return style(y, column(y, needle), int(utf32(needle).size()));
    }
};

Shot render(FakeModel& m, const std::string& keys, int w, int h, std::string dir = ".") {
    RunOptions opt;
    opt.keys = *parse_keys(keys);
    opt.width = w;
    opt.height = h;
    opt.styles = true;
    opt.save_dir = std::move(dir);
    std::ostringstream out;
    REQUIRE(run_snapshot(m, opt, out));
    Shot shot;
    std::istringstream in(out.str());
    bool styles = false;
    for (std::string line; std::getline(in, line);) {
        if (line == "--- styles ---") {
            styles = true;
        } else {
            (styles ? shot.styles : shot.text).push_back(line);
        }
    }
    REQUIRE(shot.text.size() == std::size_t(h));
    REQUIRE(shot.styles.size() == std::size_t(h));
    return shot;
}

std::vector<std::uint32_t> ids(const Snapshot& s, const View& v) {
    std::vector<std::uint32_t> out;
    for (const FlowRow* f : visible_flows(s, v)) out.push_back(f->id);
    return out;
}

std::vector<std::uint32_t> filtered(const std::string& filter) {
    View v;
    v.filter = filter;
    return ids(snapshot(), v);
}

using Ids = std::vector<std::uint32_t>;

}  // namespace

TEST_CASE("view: filter words") {
    CHECK(filtered("") == Ids{3, 4, 7, 9, 10});
    CHECK(filtered("pod1") == Ids{3, 4, 10});
    CHECK(filtered("POD2") == Ids{7, 9});               // case ignored
    CHECK(filtered("default") == Ids{3, 4, 7, 9, 10});  // a namespace
    CHECK(filtered("172.16.158.2") == Ids{7, 9});       // an IP
    CHECK(filtered("203.0") == Ids{7});
    CHECK(filtered("184") == Ids{3, 4, 10});  // digits: part of an IP
    CHECK(filtered("80") == Ids{9});          // digits: a port exactly, not 8080
    CHECK(filtered("8080") == Ids{4});
    CHECK(filtered("443") == Ids{7});
    CHECK(filtered("egress") == Ids{7});  // a kind
    CHECK(filtered("cross ipip") == Ids{3, 4, 10});
    CHECK(filtered("icmp") == Ids{3});
    CHECK(filtered("  pod1   9999 ") == Ids{10});  // every word must match
    CHECK(filtered("pod1 egress").empty());
    CHECK(filtered("web") == Ids{9});
}

TEST_CASE("view: sort by each column, both ways") {
    struct Case {
        Column col;
        Ids ascending, descending;  // ties stay in id order both ways
    };
    const Case cases[] = {
        {Column::id, {3, 4, 7, 9, 10}, {10, 9, 7, 4, 3}},
        {Column::source, {3, 4, 10, 7, 9}, {9, 7, 10, 4, 3}},
        {Column::destination, {7, 3, 4, 10, 9}, {9, 10, 4, 3, 7}},
        {Column::proto, {3, 4, 7, 9, 10}, {4, 7, 9, 10, 3}},
        {Column::kind, {3, 4, 10, 7, 9}, {9, 7, 3, 4, 10}},
        {Column::encap, {7, 9, 3, 4, 10}, {3, 4, 10, 7, 9}},
        {Column::packets, {10, 3, 7, 9, 4}, {4, 9, 7, 3, 10}},
        {Column::bytes, {10, 3, 9, 4, 7}, {7, 4, 9, 3, 10}},
        {Column::latency, {9, 7, 10, 4, 3}, {3, 4, 10, 7, 9}},
        {Column::drops, {3, 4, 7, 9, 10}, {10, 3, 4, 7, 9}},
        {Column::seen, {7, 3, 10, 4, 9}, {9, 4, 10, 3, 7}},
    };
    const Snapshot s = snapshot();
    for (const Case& c : cases) {
        INFO(column_name(c.col));
        View v;
        v.sort = c.col;
        CHECK(ids(s, v) == c.ascending);
        v.descending = true;
        CHECK(ids(s, v) == c.descending);
    }
}

TEST_CASE("view: < > pick among the columns shown, I inverts, the header is marked") {
    CHECK(shown_columns(80) == std::vector<Column>{Column::id, Column::source, Column::destination,
                                                   Column::kind, Column::packets, Column::latency});
    CHECK(shown_columns(132).size() == column_count);
    const Snapshot s = snapshot();
    View v;
    handle_key(v, '>', s);
    CHECK(v.sort == Column::source);
    for (int i = 0; i < 9; ++i) handle_key(v, '>', s);
    CHECK(v.sort == Column::latency);  // the last shown at 80 columns
    handle_key(v, '<', s);
    CHECK(v.sort == Column::packets);
    handle_key(v, 'I', s);
    CHECK(v.descending);
    CHECK(ids(s, v) == Ids{4, 9, 7, 3, 10});

    FakeModel m;
    const Shot narrow = render(m, "><<>>>>I", 80, 24);
    CHECK(narrow.text[1] ==
          "  id source             destination        kind/encap      pkts →/←▼     p50/p99");
    const Shot wide = render(m, ">>>>>>>>>>>>", 132, 40);
    CHECK(wide.text[1].find(" seen▲") != std::string::npos);
}

TEST_CASE("view: the selection follows the flow, not the row") {
    Snapshot s = snapshot();
    View v;
    for (int i = 0; i < 4; ++i) handle_key(v, key::down, s);
    CHECK(v.selected == 10);
    handle_key(v, key::up, s);
    CHECK(v.selected == 9);
    handle_key(v, 'j', s);
    CHECK(v.selected == 10);

    // Re-sorted: flow 10 has the fewest packets and comes first, still selected.
    v.sort = Column::packets;
    Canvas c(80, 24);
    draw(s, v, c);
    CHECK(c.at(0, 2).style == Style::selected);
    CHECK(c.at(0, 3).style == Style::normal);

    // A refresh brings flow 1 and loses flow 4: still flow 10.
    FlowRow f1 = s.flows[0];
    f1.id = 1;
    f1.packets_fwd = 1;
    s.flows.erase(s.flows.begin() + 1);
    s.flows.insert(s.flows.begin(), f1);
    v.sort = Column::id;
    handle_key(v, key::down, s);  // from flow 10 (last): stays
    CHECK(v.selected == 10);
    handle_key(v, key::up, s);
    CHECK(v.selected == 9);
    handle_key(v, key::home, s);
    CHECK(v.selected == 1);
    handle_key(v, key::end, s);
    CHECK(v.selected == 10);

    // Evicted: the row it was on is selected, and Enter opens that one.
    s.flows.pop_back();
    handle_key(v, key::enter, s);
    CHECK(v.screen == Screen::path);
    CHECK(v.flow == 9);
}

TEST_CASE("view: Enter opens the path, Enter a hop's packet, Esc goes back each time") {
    FakeModel m;
    Snapshot s;
    View v;
    m.snapshot(query(v), s);
    Action a = handle_key(v, key::enter, s);
    CHECK(v.screen == Screen::path);
    CHECK(v.flow == 3);
    CHECK(a.kind == Action::Kind::refresh);
    CHECK(query(v).flow == 3);
    CHECK(query(v).frame == 0);

    m.snapshot(query(v), s);
    a = handle_key(v, key::ret, s);  // Enter as the terminal sends it
    CHECK(v.screen == Screen::packet);
    CHECK(v.frame == 160);  // the first hop of the newest packet (6)
    CHECK(a.kind == Action::Kind::refresh);
    CHECK(query(v).flow == 3);
    CHECK(query(v).frame == 160);

    m.snapshot(query(v), s);
    CHECK(handle_key(v, key::esc, s).kind == Action::Kind::refresh);
    CHECK(v.screen == Screen::path);
    CHECK(handle_key(v, key::backspace, s).kind == Action::Kind::refresh);
    CHECK(v.screen == Screen::flows);
    CHECK(query(v).flow == 0);
    CHECK(handle_key(v, 'q', s).kind == Action::Kind::quit);
    CHECK(v.quit);
}

TEST_CASE("view: a hop whose frame is not kept says so") {
    FakeModel m;
    const Shot shot = render(m, "<Enter><Down><Down><Down><Down><Enter>", 80, 24);
    CHECK(shot.text[23] == "frame not kept");
    CHECK(shot.find("▶ tunl0") == 15);  // still on the Path screen, fifth hop selected
}

TEST_CASE("view: Ctrl-C quits from anywhere, q only on Flows") {
    FakeModel m;
    Snapshot s;
    View v;
    m.snapshot(query(v), s);
    handle_key(v, key::enter, s);
    CHECK(handle_key(v, 'q', s).kind == Action::Kind::refresh);  // back to Flows
    handle_key(v, key::enter, s);
    CHECK(handle_key(v, key::ctrl_c, s).kind == Action::Kind::quit);
    View typing;
    handle_key(typing, '/', s);
    CHECK(handle_key(typing, 'q', s).kind == Action::Kind::none);  // typed, not quit
    CHECK(typing.filter == "q");
    CHECK(handle_key(typing, key::ctrl_c, s).kind == Action::Kind::quit);
}

TEST_CASE("view: stepping through the packets of a flow") {
    FakeModel m;
    Shot shot = render(m, "<Enter>", 80, 24);
    CHECK(shot.text[3].starts_with("packet 6 of 6  → request  cross-node IPIP k8s-w1 -> k8s-w2"));
    shot = render(m, "<Enter><Left>", 80, 24);
    CHECK(shot.text[3].starts_with("packet 5 of 6  ← reply  cross-node IPIP k8s-w2 -> k8s-w1"));
    CHECK(shot.text[4].starts_with("┌─ k8s-w2 ─"));
    CHECK(shot.text[5].starts_with("│▶ cali49778cadcf1 (default/pod3) in  172.16.184.4 > "));

    Snapshot s;
    View v;
    m.snapshot(query(v), s);
    handle_key(v, key::enter, s);
    m.snapshot(query(v), s);
    CHECK(v.packet == 0);  // follows the newest
    handle_key(v, key::left, s);
    CHECK(v.packet == 5);
    handle_key(v, 'h', s);
    CHECK(v.packet == 4);
    handle_key(v, key::left, s);
    CHECK(v.packet == 4);  // the oldest kept
    handle_key(v, key::right, s);
    CHECK(v.packet == 5);
    handle_key(v, 'l', s);
    CHECK(v.packet == 0);  // the newest again: follows
    handle_key(v, 'N', s);
    CHECK(v.packet == 5);
    handle_key(v, 'n', s);
    CHECK(v.packet == 0);
}

TEST_CASE("view: p pauses and resumes") {
    const Snapshot s = snapshot();
    View v;
    CHECK(handle_key(v, 'p', s).kind == Action::Kind::none);
    CHECK(v.paused);
    Canvas c(80, 24);
    draw(s, v, c);
    CHECK(c.to_text(false).starts_with(" podtrace  3 files, 3 nodes  end of files  PAUSED  "));
    handle_key(v, key::down, s);  // keys still work
    CHECK(v.selected == 4);
    CHECK(handle_key(v, 'p', s).kind == Action::Kind::refresh);  // catch up
    CHECK(!v.paused);
    draw(s, v, c);
    CHECK(c.to_text(false).find("PAUSED") == std::string::npos);
}

TEST_CASE("view: s saves the selected flow and shows the answer") {
    const Snapshot s = snapshot();
    View v;
    handle_key(v, key::down, s);
    handle_key(v, key::down, s);
    const Action a = handle_key(v, 's', s);
    CHECK(a.kind == Action::Kind::save);
    CHECK(a.flow == 7);

    FakeModel m;
    Shot shot = render(m, "<Down><Down>s", 80, 24);
    CHECK(m.saved == std::vector<std::uint32_t>{7});
    CHECK(shot.text[23] == "saved 14 frames of flow 7 to ./podtrace-flow7.pcapng");
    shot = render(m, "<End><Enter>s", 80, 24, "/nonexistent");
    CHECK(m.saved == std::vector<std::uint32_t>{7, 10});
    CHECK(shot.text[23] == "save failed: cannot write /nonexistent/x.pcapng");
    shot = render(m, "<End><Enter>s<Down>", 80, 24, "/nonexistent");
    CHECK(shot.text[23].starts_with("←→ packet  ↑↓ hop"));  // the next key clears it
}

TEST_CASE("view: ? opens help, any key closes it, back where it was") {
    FakeModel m;
    const Shot help = render(m, "?", 80, 24);
    CHECK(help.text[1].starts_with("Keys"));
    CHECK(help.style(1, 0, 4) == "HHHH");
    CHECK(help.find("Filter") == 8);
    CHECK(help.find("a word of digits must equal a port") > 8);
    CHECK(help.find("The view freezes; capture goes on.") > 0);
    CHECK(help.find("first to the last capture point, client → server") > 0);
    CHECK(help.text[23] == "any key closes");
    // Every line fits 80 columns: the same at 132.
    const Shot wide = render(m, "?", 132, 40);
    for (int y = 1; y < 23; ++y) CHECK(wide.text[std::size_t(y)] == help.text[std::size_t(y)]);

    const Snapshot s = snapshot();
    View v;
    handle_key(v, '?', s);
    CHECK(v.screen == Screen::help);
    handle_key(v, 'x', s);
    CHECK(v.screen == Screen::flows);
    handle_key(v, key::enter, s);
    handle_key(v, '?', s);
    CHECK(query(v).flow == 3);  // the Path under it stays fetched
    CHECK(handle_key(v, 'q', s).kind == Action::Kind::none);
    CHECK(v.screen == Screen::path);
}

TEST_CASE("view: Flows at 80x24") {
    FakeModel m;
    const Shot shot = render(m, "<Down>", 80, 24);
    CHECK(shot.text[0] ==
          " podtrace  3 files, 3 nodes  end of files  102 packets  flows 5/5  findings 2");
    CHECK(shot.style(0, 0, 80) == std::string(80, 'T'));
    CHECK(shot.text[1] ==
          " id▲ source             destination        kind/encap       pkts →/←     p50/p99");
    CHECK(shot.style(1, 0, 80) == std::string(80, 'H'));
    CHECK(shot.text[2] ==
          "   3 default/pod1       default/pod3       cross-node/IPIP       3/3 466us/480us");
    CHECK(shot.text[3] ==
          "   4 default/pod1:33986 default/pod3:8080  cross-node/IPIP      10/8 300us/1.2ms");
    CHECK(shot.style(3, 0, 80) == std::string(80, 'S'));  // selected
    CHECK(shot.text[4] ==
          "   7 default/pod2:40500 203.0.113.10:443   egress                5/4 120us/130us");
    CHECK(shot.text[5] ==
          "   9 default/pod2:44946 default/web (s…:80 service               6/6           -");
    CHECK(shot.text[6] ==
          "  10 default/pod1:54350 default/pod3:9999  cross-node/IPIP       2/0 230us/260us");
    CHECK(shot.style_of("10 default/pod1:54350") == std::string(21, 'B'));  // drops
    CHECK(shot.style_of("7 default/pod2") == std::string(14, ' '));
    CHECK(shot.text[22].starts_with("findings 2: dropped (flow 10): default/pod1 (172.16.158.1)"));
    CHECK(shot.style(22, 0, 80) == std::string(80, 'B'));
    CHECK(shot.text[23] ==
          "Enter path  / filter  s save  p pause  <> sort  i interfaces  ? help  q quit");
    CHECK(shot.style(23, 0, 6) == "KKKKK ");
}

TEST_CASE("view: Flows at 132x40") {
    FakeModel m;
    const Shot shot = render(m, "", 132, 40);
    CHECK(shot.text[0] ==
          " podtrace  3 files, 3 nodes  end of files  355 frames  102 packets  "
          "flows 5/5  findings 2");
    CHECK(shot.text[1] ==
          " id▲ source                      destination                 proto kind "
          "      encap       pkts →/← bytes →/←     p50/p99 drops  seen");
    CHECK(shot.text[3] ==
          "   4 default/pod1:33986          default/pod3:8080           TCP   "
          "cross-node IPIP            10/8 1.5K/3.3K 300us/1.2ms     0   30s");
    CHECK(shot.text[4] ==
          "   7 default/pod2:40500          203.0.113.10:443            TCP   "
          "egress                      5/4  900/5.9K 120us/130us     0  0.3s");
    CHECK(shot.text[5] ==
          "   9 default/pod2:44946          default/web (service):80    TCP   "
          "service                     6/6   700/800           -     0    6m");
    CHECK(shot.text[6] ==
          "  10 default/pod1:54350          default/pod3:9999           TCP   "
          "cross-node IPIP             2/0     120/0 230us/260us     2  5.0s");
    CHECK(shot.style_of("  10 default/pod1:54350").find_first_not_of(" B") == std::string::npos);
    CHECK(shot.find("findings 2: dropped (flow 10)") == 38);
    CHECK(shot.text[39].ends_with("? help  q quit"));
}

TEST_CASE("view: the filter as you type") {
    FakeModel m;
    Shot shot = render(m, "/pod2", 80, 24);
    CHECK(shot.text[23].starts_with("/pod2▏"));
    CHECK(shot.text[0].find("flows 2/5") != std::string::npos);
    CHECK(shot.text[2].starts_with("   7 default/pod2:40500"));
    CHECK(shot.text[3].starts_with("   9 default/pod2:44946"));
    CHECK(shot.text[4].empty());

    shot = render(m, "/pod23<Backspace><Enter>", 80, 24);
    CHECK(shot.text[23].starts_with("/pod2  Enter path"));
    CHECK(shot.style(23, 0, 5) == "NNNNN");
    CHECK(shot.text[0].find("flows 2/5") != std::string::npos);

    shot = render(m, "/nothing", 80, 24);
    CHECK(shot.text[2] == " no flow matches /nothing");
    CHECK(render(m, "/pod2<Esc>", 80, 24).text[0].find("flows 5/5") != std::string::npos);
    CHECK(render(m, "/pod2<Enter><Esc>", 80, 24).text[0].find("flows 5/5") != std::string::npos);
    // Enter on the filtered table opens the selected row.
    CHECK(render(m, "/pod2<Enter><Down><Enter>", 80, 24).text[1].starts_with("flow 9  TCP"));
}

TEST_CASE("view: Path of a cross-node flow at 80x24 and 132x40") {
    FakeModel m;
    const Shot shot = render(m, "<Enter>", 80, 24);
    CHECK(shot.text[1] == "flow 3  ICMP  default/pod1 172.16.158.1 → default/pod3 172.16.184.4");
    CHECK(shot.text[2] == "cross-node IPIP  verdict: ok, both ways");
    CHECK(shot.style_of("verdict: ok, both ways") == std::string(22, 'G'));
    CHECK(shot.text[4] == "┌─ k8s-w1 " + [] {
        std::string s;
        for (int i = 0; i < 69; ++i) s += "─";
        return s;
    }() + "┐");
    CHECK(shot.style(4, 0, 12) == "XXHHHHHHHHXX");
    CHECK(shot.text[5] ==
          "│▶ calice0906292e2 (default/pod1) in  172.16.158.1 > 172.16.184.4 ICMP echo re…│");
    CHECK(shot.style(5, 0, 80) == 'X' + std::string(78, 'S') + 'X');
    CHECK(shot.text[6].starts_with("│   │ +84.147 us "));
    CHECK(shot.style(6, 4, 12) == std::string(12, 'D'));
    CHECK(shot.text[7].starts_with(
        "│  tunl0                          out 172.16.158.1 > 172.16.184.4"));
    CHECK(shot.text[9].starts_with("│  ens5                           out IPIP 192.168.10.101 > "));
    CHECK(shot.text[10].starts_with("└──"));
    CHECK(shot.text[11] == "    │ +6.923 us (wire)");
    CHECK(shot.text[12].starts_with("┌─ k8s-w2 ─"));
    CHECK(shot.text[17].starts_with("│  cali49778cadcf1 (default/pod3) out 172.16.158.1 > "));
    CHECK(shot.text[19] == "✓ reached k8s-w2/cali49778cadcf1");
    CHECK(shot.style_of("✓ reached") == "GGGGGGGGG");
    CHECK(shot.text[23].starts_with("←→ packet  ↑↓ hop  Enter packet detail  s save  Esc back"));

    const Shot wide = render(m, "<Enter><Down><Down>", 132, 40);
    CHECK(wide.find("│▶ ens5                           out IPIP 192.168.10.101 > 192.168.10.102 | "
                    "172.16.158.1 > 172.16.184.4 ICMP echo request ttl 63 …│") == 9);
    CHECK(wide.style(9, 1, 2) == "SS");  // the third hop is selected
    CHECK(wide.find("hop latency p50 / p99 (packets):") == 21);
    CHECK(wide.text[23] ==
          "  → k8s-w1/tunl0 > k8s-w1/ens5             180.224 us / 235.472 us (3)");
}

TEST_CASE("view: Path shows the NAT rewrite highlighted") {
    FakeModel m;
    const Shot shot = render(m, "<Down><Down><Enter>", 80, 24);
    CHECK(shot.text[1] == "flow 7  TCP  default/pod2 172.16.158.2:40500 → 203.0.113.10:443");
    CHECK(shot.text[2].starts_with("egress, SNAT 172.16.158.2:40500 -> 192.168.10.101:61000"));
    const int y = shot.find("⇒ NAT src 172.16.158.2:40500 -> 192.168.10.101:61000");
    CHECK(y == 8);
    CHECK(shot.text[7].starts_with("│  ens5 "));  // under its hop
    CHECK(shot.style_of("⇒ NAT src 172.16.158.2:40500 -> 192.168.10.101:61000") ==
          std::string(52, 'N'));
    CHECK(shot.text[10] == "✓ reached k8s-w1/ens5");
}

TEST_CASE("view: Path of a dropped flow, scrolled") {
    FakeModel m;
    const Shot shot = render(m, "<End><Enter>", 80, 24);
    CHECK(shot.text[2].starts_with("cross-node IPIP  verdict: dropped on k8s-w2 after tunl0"));
    CHECK(shot.style(2, 17, 8) == "BBBBBBBB");
    CHECK(shot.text[15].starts_with("│  tunl0 in  172.16.158.1 > 172.16.184.4"));
    CHECK(shot.text[17] ==
          "✗ dropped on k8s-w2 after tunl0, before cali49778cadcf1: 2 packets seen on");
    CHECK(shot.style(17, 0, 74) == std::string(74, 'B'));
    CHECK(shot.text[18] == "  k8s-w2/tunl0, never on k8s-w2/cali49778cadcf1 (capturing then)");
    CHECK(shot.text[20] == "findings (2):");
    CHECK(shot.find("no-reply (flow 10)") == -1);  // below the screen

    const Shot down = render(m, "<End><Enter><PgDn>", 80, 24);
    const int y = down.find("no-reply (flow 10)");
    CHECK(y > 0);
    CHECK(down.style(y, 2, 8) == "BBBBBBBB");
    CHECK(render(m, "<End><Enter><PgDn><Home>", 80, 24).text == shot.text);
}

TEST_CASE("view: Path of a flow that is gone") {
    Snapshot s = snapshot();
    View v;
    v.screen = Screen::path;
    v.flow = 42;
    Canvas c(80, 24);
    draw(s, v, c);
    std::istringstream in(c.to_text(false));
    std::vector<std::string> rows;
    for (std::string l; std::getline(in, l);) rows.push_back(l);
    CHECK(rows[1] == "flow 42");
    CHECK(rows[3] == "flow 42: no detail; it was evicted or is not known");
    CHECK(c.at(0, 3).style == Style::bad);
    CHECK(handle_key(v, key::left, s).kind == Action::Kind::none);    // nothing to step
    CHECK(handle_key(v, key::esc, s).kind == Action::Kind::refresh);  // no detail needed now
    CHECK(v.screen == Screen::flows);
}

TEST_CASE("view: Packet screen: tree, hex, and a frame let go") {
    FakeModel m;
    Shot shot = render(m, "<Enter><Enter>", 80, 24);
    CHECK(shot.text[1] == "k8s-w1/ens5 out  2026-11-27 12:00:00.123456789  98 bytes");
    CHECK(shot.text[2] == "Ethernet II, src 0a:58:0a:00:00:01, dst ee:ee:ee:ee:ee:ee");
    CHECK(shot.style(2, 0, 3) == "HHH");
    CHECK(shot.text[3] == "  type 0x0800 (IPv4)");
    CHECK(shot.style(3, 2, 4) == "    ");
    CHECK(shot.style_of("ICMP [truncated") == std::string(15, 'B'));
    CHECK(shot.text[8] ==
          "0000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  ABCDEFGHIJKLMNOP");
    CHECK(shot.text[10].starts_with("0020  47 48 49 4a 4b 4c 4d 4e"));

    FakeModel gone;
    gone.snapshot_.flows[0].id = 3;
    Snapshot s;
    View v;
    v.screen = Screen::packet;
    v.flow = 3;
    v.frame = 999;
    gone.snapshot(query(v), s);
    Canvas c(80, 24);
    draw(s, v, c);
    CHECK(c.to_text(false).find("\nframe no longer kept (raise --keep)\n") != std::string::npos);
    CHECK(c.at(0, 2).style == Style::bad);
}

TEST_CASE("view: Interfaces at 80x24 and 132x40") {
    FakeModel m;
    const Shot shot = render(m, "i", 80, 24);
    CHECK(shot.text[1] ==
          "node/interface          state     packets  bytes    pps  bit/s kdrop qdrop undec");
    CHECK(shot.text[3] ==
          "k8s-w1/ens5             capturing      64   8.8K      4   4.8K     3     0     2");
    CHECK(shot.style(3, 63, 17) == "BBBBB       BBBBB");  // kernel drops, undecodable
    CHECK(shot.style(2, 63, 17) == std::string(17, ' '));
    CHECK(shot.text[5] == "notes:");
    CHECK(shot.text[6] == "  clock k8s-w1: reference");
    CHECK(shot.text[23].starts_with("↑↓ scroll  f flows  Esc back"));

    const Shot wide = render(m, "i", 132, 40);
    CHECK(wide.text[2].starts_with("k8s-w1/calice0906292e2  veth   default/pod1     capturing"));
    CHECK(wide.text[3].ends_with("    3     0     2 truncated 2"));

    const Snapshot s = snapshot();
    View v;
    handle_key(v, key::enter, s);
    handle_key(v, 'i', s);
    CHECK(v.screen == Screen::interfaces);
    CHECK(query(v).flow == 3);
    handle_key(v, key::esc, s);
    CHECK(v.screen == Screen::path);
    handle_key(v, 'i', s);
    handle_key(v, 'f', s);
    CHECK(v.screen == Screen::flows);
}

TEST_CASE("view: below 80x24 one line says so") {
    FakeModel m;
    CHECK(render(m, "", 60, 20).text[0] == "terminal too small: 60x20, need 80x24");
    const Shot shot = render(m, "", 80, 23);
    CHECK(shot.text[0] == "terminal too small: 80x23, need 80x24");
    for (int y = 1; y < 23; ++y) CHECK(shot.text[std::size_t(y)].empty());
    CHECK(render(m, "", 132, 10).text[0] == "terminal too small: 132x10, need 80x24");
}

TEST_CASE("view: draw is pure") {
    const Snapshot s = snapshot();
    View v;
    v.screen = Screen::path;
    v.flow = 3;
    Snapshot with = s;
    with.detail = detail3(s);
    Canvas a(100, 30), b(100, 30);
    draw(with, v, a);
    draw(with, v, b);
    CHECK(a.to_text(true) == b.to_text(true));
    draw(s, v, b);  // a canvas used before is redrawn from scratch
    draw(with, v, b);
    CHECK(a.to_text(true) == b.to_text(true));
}

TEST_CASE("parse_keys") {
    auto k = parse_keys("/pod1<Enter><Down><<x>q<C-c><Esc><PgDn><Backspace>");
    REQUIRE(k);
    CHECK(*k == std::vector<int>{'/', 'p', 'o', 'd', '1', key::enter, key::down, '<', 'x', '>', 'q',
                                 key::ctrl_c, key::esc, key::page_down, key::backspace});
    CHECK(parse_keys("")->empty());
    CHECK(*parse_keys("<Up><Left><Right><PgUp><Home><End><Tab>") ==
          std::vector<int>{key::up, key::left, key::right, key::page_up, key::home, key::end,
                           key::tab});
    auto bad = parse_keys("ab<Foo>");
    REQUIRE(!bad);
    CHECK(bad.error().message ==
          "--keys: unknown key name <Foo> (known: <Enter> <Esc> <Up> <Down> "
          "<Left> <Right> <PgUp> <PgDn> <Home> <End> <Tab> <Backspace> <C-c>)");
    CHECK(parse_keys("<enter>").error().message.starts_with("--keys: unknown key name <enter> "));
    auto open = parse_keys("x<Enter");
    REQUIRE(!open);
    CHECK(open.error().message ==
          "--keys: unterminated key name <Enter (a literal '<' is written <<)");
}

TEST_CASE("run_snapshot: a size below 1x1 is refused") {
    FakeModel m;
    RunOptions opt;
    opt.width = 0;
    opt.height = 24;
    std::ostringstream out;
    const auto r = run_snapshot(m, opt, out);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "--snapshot needs a size of at least 1x1");
    CHECK(out.str().empty());
}

TEST_CASE("run_snapshot: each key sees a snapshot with the query its screen needs") {
    FakeModel m;
    render(m, "<Enter><Enter><Esc>", 80, 24);
    REQUIRE(m.queries.size() == 4);
    CHECK(m.queries[0].flow == 0);
    CHECK(m.queries[1].flow == 3);
    CHECK(m.queries[1].frame == 0);
    CHECK(m.queries[2].frame == 160);
    CHECK(m.queries[3].flow == 3);
    CHECK(m.queries[3].frame == 0);
}
