#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

#include "helpers.hpp"
#include "lab/netns.hpp"
#include "lab/topology.hpp"
#include "lab/wireguard.hpp"

using namespace podtrace::lab;
using Catch::Matchers::Contains;
using podtrace::process::Exec;
using podtrace::test::require;

namespace {

WgKeyBytes from_hex(std::string_view h) {
    WgKeyBytes k{};
    for (size_t i = 0; i < k.size(); ++i)
        k[i] = static_cast<std::uint8_t>(std::stoi(std::string(h.substr(2 * i, 2)), nullptr, 16));
    return k;
}

// The first value of `key` in UAPI key=value text, or "" when absent.
std::string field(const std::string& text, const std::string& key) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(key + "=")) return line.substr(key.size() + 1);
    return {};
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool live_ok() {
    if (geteuid() != 0) {
        WARN("skipped: needs root (network namespaces)");
        return false;
    }
    if (run({"wireguard-go", "--version"}).value_or(Exec{}).status != 0) {
        WARN("skipped: wireguard-go is not installed");
        return false;
    }
    return true;
}

// Names carry this process's pid: lab_tests from several build trees may run at once, and one run
// must not tear down another's namespaces.
constexpr std::string_view kPrefix = "ptlt-wg-";
const std::string kTag = std::string(kPrefix) + std::to_string(getpid()) + "-";  // ptlt-wg-<pid>-
const std::string kRoot = "/run/podtrace-lab-test";
const std::string kDir = kRoot + "/wg-" + std::to_string(getpid());

// Whether a name's owner, the pid `owner` starts with, is this process or gone.
bool ours_or_orphaned(std::string_view owner) {
    int pid = 0;
    if (std::from_chars(owner.data(), owner.data() + owner.size(), pid).ec != std::errc{})
        return true;
    return pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH);
}

// This run's namespaces, processes and kDir, and those of runs that died: gone before the test and
// after it, pass or fail.
struct WgLab {
    std::vector<pid_t> pids;  // started by this test, still to be reaped

    WgLab() {
        clean();
        std::filesystem::create_directories(kDir);
    }
    ~WgLab() {
        for (pid_t p : pids) {
            kill(p, SIGTERM);
            if (!reap(p, std::chrono::seconds(2))) {
                kill(p, SIGKILL);
                waitpid(p, nullptr, 0);
            }
        }
        clean();
    }
    WgLab(const WgLab&) = delete;
    WgLab& operator=(const WgLab&) = delete;

    // The exit status of `p` once it has exited within `limit`; it is then no longer ours.
    std::optional<int> reap(pid_t p, std::chrono::milliseconds limit) {
        auto end = std::chrono::steady_clock::now() + limit;
        do {
            int ws = 0;
            if (waitpid(p, &ws, WNOHANG) == p) {
                std::erase(pids, p);
                return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } while (std::chrono::steady_clock::now() < end);
        return std::nullopt;
    }

    // A crashed earlier run can leave its wireguard-go behind: deleting the namespace's name
    // would not stop it, and it would keep serving the run directory's socket.
    static void clean() {
        std::istringstream names(run({"ip", "netns", "list"}).value_or(Exec{}).out);
        for (std::string ns, rest; names >> ns && std::getline(names, rest);) {
            if (!ns.starts_with(kPrefix) || !ours_or_orphaned(ns.substr(kPrefix.size()))) continue;
            std::istringstream pids(run({"ip", "netns", "pids", ns}).value_or(Exec{}).out);
            for (pid_t p; pids >> p;) kill(p, SIGKILL);
            run({"ip", "netns", "del", ns});
        }
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(kRoot, ec)) {
            std::string name = e.path().filename();
            if (name.starts_with("wg-") && ours_or_orphaned(name.substr(3)))
                std::filesystem::remove_all(e.path(), ec);
        }
    }
};

}  // namespace

TEST_CASE("WireGuard keys: X25519 pairs, in wg's base64 and UAPI's hex") {
    // RFC 7748 section 6.1, Alice's key pair.
    auto priv = from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    auto pub = require(x25519_public(priv));
    CHECK(hex(pub) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    CHECK(base64(pub) == "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");

    auto k = require(generate_wg_key());
    CHECK(k.pub == require(x25519_public(k.priv)));
    CHECK(base64(k.pub).size() == 44);
    CHECK(base64(k.priv).size() == 44);
    // Clamped, as `wg genkey` prints it.
    CHECK((k.priv[0] & 7) == 0);
    CHECK((k.priv[31] & 0xc0) == 0x40);
    CHECK(require(generate_wg_key()).priv != k.priv);
}

TEST_CASE("start_wireguard_go and the UAPI calls say what failed", "[live]") {
    if (!live_ok()) return;
    WgLab lab;
    auto missing =
        start_wireguard_go(kTag + "missing", "wireguard.cali", kDir + "/m", kDir + "/m.log");
    REQUIRE_FALSE(missing.has_value());
    CHECK_THAT(missing.error().message, Contains("no network namespace " + kTag + "missing"));
    // Linux interface names have at most 15 characters: wireguard-go cannot make this one.
    require(must({"ip", "netns", "add", kTag + "e"}));
    auto started =
        start_wireguard_go(kTag + "e", "wireguard.calico", kDir + "/m", kDir + "/m.log");
    if (started) {
        lab.pids.push_back(*started);
        FAIL("wireguard-go started with a 16-character interface name");
    }
    const std::string why = started.error().message;
    CHECK_THAT(why, Contains("wireguard-go wireguard.calico in " + kTag + "e exited (exit 1)"));
    CHECK_THAT(why, Contains("end of " + kDir + "/m.log"));
    CHECK_THAT(why, Contains("TUN"));  // wireguard-go's own words, from the log
    auto got = wg_get(kDir + "/m", "wireguard.cali");
    REQUIRE_FALSE(got.has_value());
    CHECK_THAT(got.error().message,
               Contains(kDir + "/m/wireguard.cali.sock") && Contains("No such file"));
}

TEST_CASE("wireguard-go in two namespaces carries a ping through wireguard.cali", "[live]") {
    if (!live_ok()) return;
    WgLab lab;
    const std::string wg = "wireguard.cali";
    struct Side {
        std::string ns, nic_ip, tunnel_ip, block, run_dir;
        WgKey key;
    };
    Side a{kTag + "a", "192.168.77.1", "172.16.158.0", "172.16.158.0/24", kDir + "/a", {}};
    Side b{kTag + "b", "192.168.77.2", "172.16.184.0", "172.16.184.0/24", kDir + "/b", {}};
    a.key = require(generate_wg_key());
    b.key = require(generate_wg_key());
    require(must({"ip", "netns", "add", a.ns}));
    require(must({"ip", "netns", "add", b.ns}));
    require(must({"ip", "link", "add", "ens5", "netns", a.ns, "type", "veth", "peer", "name",
                  "ens5", "netns", b.ns}));
    for (const Side* s : {&a, &b}) {
        require(must({"ip", "link", "set", "lo", "up"}, s->ns));
        require(must({"ip", "link", "set", "ens5", "mtu", std::to_string(kNicMtu), "up"}, s->ns));
        require(must({"ip", "addr", "add", s->nic_ip + "/24", "dev", "ens5"}, s->ns));
        lab.pids.push_back(
            require(start_wireguard_go(s->ns, wg, s->run_dir, s->run_dir + ".log")));
        CHECK(std::filesystem::is_socket(s->run_dir + "/" + wg + ".sock"));
    }
    // Each socket stayed in its node's directory: nothing reached the host's.
    CHECK_FALSE(std::filesystem::exists("/var/run/wireguard/" + wg + ".sock"));

    auto refused = wg_configure(a.run_dir, wg, a.key, kWireGuardPort,
                                {{b.key.pub, b.nic_ip + ":51820", {"172.16.184.0/33"}}});
    REQUIRE_FALSE(refused.has_value());
    CHECK_THAT(refused.error().message, Contains("Invalid argument"));

    require(wg_configure(a.run_dir, wg, a.key, kWireGuardPort,
                         {{b.key.pub, b.nic_ip + ":51820", {b.block}}}));
    require(wg_configure(b.run_dir, wg, b.key, kWireGuardPort,
                         {{a.key.pub, a.nic_ip + ":51820", {a.block}, 25}}));
    for (const auto& [s, peer] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        require(must(
            {"ip", "link", "set", wg, "mtu", std::to_string(tunnel_mtu(Mode::wireguard)), "up"},
            s->ns));
        require(must({"ip", "addr", "add", s->tunnel_ip + "/32", "dev", wg}, s->ns));
        require(must({"ip", "route", "add", peer->block, "dev", wg}, s->ns));
    }

    // B's NIC must carry the pings as WireGuard transport data (type 4, keepalives of 32 bytes
    // left out), UDP 51820 both ways: 3 echoes and 3 replies, then 1 + 1 jumbo.
    std::string dump_log = kDir + "/tcpdump.log";
    pid_t dump = require(spawn_detached({"tcpdump", "-l", "-n", "-i", "ens5", "-c", "8",
                                         "udp port 51820 and udp[8] = 4 and udp[4:2] > 40"},
                                        b.ns, dump_log));
    lab.pids.push_back(dump);
    for (int i = 0; i < 250 && slurp(dump_log).find("listening on") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE_THAT(slurp(dump_log), Contains("listening on"));

    auto ping = require(run({"ping", "-n", "-c", "3", "-I", a.tunnel_ip, b.tunnel_ip}, a.ns));
    INFO(ping.out << ping.err);
    REQUIRE(ping.status == 0);
    CHECK_THAT(ping.out, Contains("3 received"));
    // The largest packet the tunnel MTU allows (8941 bytes) fits B's 9001-byte NIC encrypted.
    auto jumbo = require(
        run({"ping", "-n", "-c", "1", "-M", "do", "-s",
             std::to_string(tunnel_mtu(Mode::wireguard) - 28), "-I", a.tunnel_ip, b.tunnel_ip},
            a.ns));
    INFO(jumbo.out << jumbo.err);
    CHECK(jumbo.status == 0);

    auto dumped = lab.reap(dump, std::chrono::seconds(5));
    std::string dump_text = slurp(dump_log);
    INFO(dump_text);
    CHECK(dumped == 0);
    // An 84-byte echo: 16 header + pad16(84) + 16 tag = 128 bytes of UDP payload.
    CHECK_THAT(dump_text, Contains("192.168.77.1.51820 > 192.168.77.2.51820: UDP, length 128"));
    CHECK_THAT(dump_text, Contains("192.168.77.2.51820 > 192.168.77.1.51820: UDP, length 128"));
    // Padding stops at the tunnel MTU: 8941 is padded to 8941, not to 8944, so 8973 not 8976.
    CHECK_THAT(dump_text, Contains("192.168.77.1.51820 > 192.168.77.2.51820: UDP, length 8973"));
    CHECK_THAT(dump_text, Contains("192.168.77.2.51820 > 192.168.77.1.51820: UDP, length 8973"));

    auto state = require(wg_get(a.run_dir, wg));
    INFO(state);
    CHECK(field(state, "listen_port") == "51820");
    CHECK(field(state, "public_key") == hex(b.key.pub));
    CHECK(field(state, "endpoint") == b.nic_ip + ":51820");
    CHECK(field(state, "allowed_ip") == b.block);
    CHECK_FALSE(field(state, "last_handshake_time_sec").empty());
    CHECK(field(state, "last_handshake_time_sec") != "0");
    CHECK(field(state, "rx_bytes") != "0");
    CHECK(field(require(wg_get(b.run_dir, wg)), "persistent_keepalive_interval") == "25");
}
