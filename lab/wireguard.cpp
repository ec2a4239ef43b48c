#include "lab/wireguard.hpp"

#include <net/if.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>

#include "lab/netns.hpp"
#include "process/fd.hpp"

namespace podtrace::lab {
namespace {

using process::Fd;

std::unexpected<Error> failed(const std::string& what) {
    return std::unexpected(Error{what});
}

// Where wireguard-go v0.0.20220316 puts its socket, in every namespace (ipc/uapi_linux.go).
constexpr const char* kSocketDir = "/var/run/wireguard";
constexpr auto kStartTimeout = std::chrono::seconds(5);
constexpr auto kIoTimeout = std::chrono::seconds(5);

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

std::expected<WgKeyBytes, Error> raw_public(EVP_PKEY* key) {
    WgKeyBytes pub{};
    size_t len = pub.size();
    if (EVP_PKEY_get_raw_public_key(key, pub.data(), &len) != 1 || len != pub.size())
        return failed("OpenSSL: cannot read an X25519 public key");
    return pub;
}

std::string socket_path(const std::string& run_dir, const std::string& ifname) {
    return run_dir + "/" + ifname + ".sock";
}

// A connected stream to wireguard-go's UAPI socket, or -1 with errno set.
int connect_uapi(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

// A socket file alone proves nothing: a killed wireguard-go leaves a stale one behind.
bool answers(const std::string& path) {
    return Fd(connect_uapi(path)).get() >= 0;
}

std::expected<bool, Error> link_exists(const std::string& netns, const std::string& ifname) {
    auto in = NetnsScope::enter(netns);
    if (!in) return std::unexpected(in.error());
    return if_nametoindex(ifname.c_str()) != 0;
}

// One UAPI request/response. Returns the response without its final `errno=0` line; fails when
// wireguard-go answers with another errno.
std::expected<std::string, Error> uapi(const std::string& run_dir, const std::string& ifname,
                                       const std::string& request) {
    std::string path = socket_path(run_dir, ifname);
    Fd fd(connect_uapi(path));
    if (fd.get() < 0)
        return failed("wireguard-go UAPI socket " + path + ": " + std::strerror(errno));
    // A wedged daemon must not hang the lab.
    timeval tv{static_cast<time_t>(kIoTimeout.count()), 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    for (size_t off = 0; off < request.size();) {
        ssize_t n = send(fd.get(), request.data() + off, request.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return failed("writing to " + path + ": " + std::strerror(errno));
        off += static_cast<size_t>(n);
    }
    // The response ends with an empty line; its last line is `errno=N`.
    std::string resp;
    char buf[4096];
    while (!resp.ends_with("\n\n")) {
        ssize_t n = read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return failed("reading from " + path + ": " + std::strerror(errno));
        if (n == 0) break;
        resp.append(buf, static_cast<size_t>(n));
    }
    while (resp.ends_with('\n')) resp.pop_back();
    size_t line = resp.rfind('\n');
    line = line == std::string::npos ? 0 : line + 1;
    std::string_view last = std::string_view(resp).substr(line);
    int err = -1;
    if (!last.starts_with("errno=") ||
        std::from_chars(last.data() + 6, last.data() + last.size(), err).ec != std::errc{})
        return failed("wireguard-go on " + path + " gave no errno line: '" + resp + "'");
    // wireguard-go v0.0.20220316 sends the errno negated (errno=-22); accept either sign.
    if (err != 0)
        return failed("wireguard-go on " + path + " refused the request: errno=" +
                      std::to_string(err) + " (" + std::strerror(std::abs(err)) + ")");
    resp.erase(line);
    return resp;
}

// The end of what `log` got since it was `from` bytes long, for an error message.
std::string log_tail(const std::string& log, std::uintmax_t from) {
    std::ifstream in(log, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(from));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    constexpr size_t kKeep = 2000;
    if (text.size() > kKeep) text = "..." + text.substr(text.size() - kKeep);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text.empty() ? "; " + log + " is empty" : "; end of " + log + ":\n" + text;
}

std::string wait_status(int ws) {
    if (WIFEXITED(ws)) return "exit " + std::to_string(WEXITSTATUS(ws));
    if (WIFSIGNALED(ws)) return std::string("killed by ") + strsignal(WTERMSIG(ws));
    return "status " + std::to_string(ws);
}

}  // namespace

std::expected<WgKeyBytes, Error> x25519_public(const WgKeyBytes& priv) {
    Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv.data(), priv.size()),
             EVP_PKEY_free);
    if (!key) return failed("OpenSSL: cannot load an X25519 private key");
    return raw_public(key.get());
}

std::expected<WgKey, Error> generate_wg_key() {
    PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr), EVP_PKEY_CTX_free);
    EVP_PKEY* raw = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1)
        return failed("OpenSSL: X25519 key generation failed");
    Pkey key(raw, EVP_PKEY_free);
    WgKey k;
    size_t len = k.priv.size();
    if (EVP_PKEY_get_raw_private_key(key.get(), k.priv.data(), &len) != 1 || len != k.priv.size())
        return failed("OpenSSL: cannot read an X25519 private key");
    auto pub = raw_public(key.get());
    if (!pub) return std::unexpected(pub.error());
    k.pub = *pub;
    return k;
}

std::string base64(const WgKeyBytes& key) {
    unsigned char out[45];  // 4 * ceil(32 / 3) + NUL
    int n = EVP_EncodeBlock(out, key.data(), static_cast<int>(key.size()));
    return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

std::string hex(const WgKeyBytes& key) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (auto b : key) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

std::expected<pid_t, Error> start_wireguard_go(const std::string& netns,
                                               const std::string& ifname,
                                               const std::string& run_dir,
                                               const std::string& log) {
    namespace fs = std::filesystem;
    std::error_code ec;
    // The bind mount needs a target on the host; wg-quick would create the same directory.
    for (const std::string& dir : {std::string(kSocketDir), run_dir}) {
        fs::create_directories(dir, ec);
        if (ec) return failed("cannot create " + dir + ": " + ec.message());
    }
    // Checked here: `ip netns exec` would fail too, but only after this thread looked for the
    // interface in the missing namespace.
    if (!netns_exists(netns)) return failed("no network namespace " + netns);
    std::string sock = socket_path(run_dir, ifname);
    // wireguard-go would exit on a live socket; a stale one it replaces itself.
    if (answers(sock)) return failed(sock + " is served by a wireguard-go already running");
    std::uintmax_t log_start = fs::file_size(log, ec);
    if (ec) log_start = 0;
    // WG_PROCESS_FOREGROUND=1 also drops the "kernel has WireGuard" banner from the log;
    // verbose logging records handshakes and keepalives, not every packet.
    auto pid = spawn_detached(
        {"env", "WG_PROCESS_FOREGROUND=1", "LOG_LEVEL=verbose", "wireguard-go", "-f", ifname},
        netns, log, {{run_dir, kSocketDir}});
    if (!pid) return std::unexpected(pid.error());
    const std::string what = "wireguard-go " + ifname + " in " + netns;
    auto give_up = [&](const std::string& why) {
        kill(*pid, SIGKILL);
        waitpid(*pid, nullptr, 0);
        return failed(what + ": " + why + ", killed it" + log_tail(log, log_start));
    };
    auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    for (;;) {
        int ws = 0;
        if (waitpid(*pid, &ws, WNOHANG) == *pid)
            return failed(what + " exited (" + wait_status(ws) + ")" + log_tail(log, log_start));
        bool sock_ok = answers(sock);
        auto link_ok = link_exists(netns, ifname);
        if (!link_ok) return give_up(link_ok.error().message);
        if (sock_ok && *link_ok) return *pid;
        if (std::chrono::steady_clock::now() > deadline)
            return give_up("not ready after " + std::to_string(kStartTimeout.count()) + " s (" +
                           (sock_ok ? "" : "no answer on " + sock) +
                           (sock_ok || *link_ok ? "" : ", ") +
                           (*link_ok ? "" : "no interface " + ifname) + ")");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::expected<void, Error> wg_configure(const std::string& run_dir, const std::string& ifname,
                                        const WgKey& self, int listen_port,
                                        const std::vector<WgPeer>& peers, std::uint32_t fwmark) {
    std::string req = "set=1\nprivate_key=" + hex(self.priv) +
                      "\nlisten_port=" + std::to_string(listen_port) +
                      "\nfwmark=" + std::to_string(fwmark) + "\nreplace_peers=true\n";
    for (const auto& p : peers) {
        req += "public_key=" + hex(p.pub) + "\n";
        if (!p.endpoint.empty()) req += "endpoint=" + p.endpoint + "\n";
        if (p.keepalive > 0)
            req += "persistent_keepalive_interval=" + std::to_string(p.keepalive) + "\n";
        req += "replace_allowed_ips=true\n";
        for (const auto& ip : p.allowed_ips) req += "allowed_ip=" + ip + "\n";
    }
    auto r = uapi(run_dir, ifname, req + "\n");
    if (!r) return std::unexpected(r.error());
    return {};
}

std::expected<std::string, Error> wg_get(const std::string& run_dir, const std::string& ifname) {
    return uapi(run_dir, ifname, "get=1\n\n");
}

}  // namespace podtrace::lab
