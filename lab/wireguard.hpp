#pragma once
// The lab's WireGuard: this kernel has no wireguard module, so each node runs wireguard-go
// (userspace, a TUN device named like Calico's `wireguard.cali`) and the lab configures it through
// wireguard-go's UAPI socket, the text protocol `wg` itself speaks: no wireguard-tools needed.
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace podtrace::lab {

using WgKeyBytes = std::array<std::uint8_t, 32>;

struct WgKey {
    WgKeyBytes priv{}, pub{};
};
// A fresh X25519 key pair (OpenSSL), as `wg genkey | wg pubkey` makes.
std::expected<WgKey, Error> generate_wg_key();
std::expected<WgKeyBytes, Error> x25519_public(const WgKeyBytes& priv);
std::string base64(const WgKeyBytes& key);  // wg's text form of a key: 44 characters

struct WgPeer {
    WgKeyBytes pub{};
    std::string endpoint;                  // "192.168.10.102:51820"
    std::vector<std::string> allowed_ips;  // "172.16.184.0/24"
    int keepalive = 0;  // persistent keepalive, seconds; 0 = off (Calico's default)
};

// Starts `wireguard-go -f IFNAME` inside `netns` and returns its pid (the caller stops it with
// SIGTERM and reaps it). wireguard-go always puts its control socket at
// /var/run/wireguard/IFNAME.sock, so `run_dir` is bind-mounted there in a private mount namespace:
// each node's socket ends up at run_dir/IFNAME.sock. Returns once the socket answers and the
// interface exists (at most ~5 s); else fails with the end of `log`. The interface is left
// down, without address, at wireguard-go's MTU of 1420: MTU, address and routes are the
// caller's (`ip`).
std::expected<pid_t, Error> start_wireguard_go(const std::string& netns,
                                               const std::string& ifname,
                                               const std::string& run_dir,
                                               const std::string& log);

// Sets the private key, the listen port and exactly these peers (replacing any others).
std::expected<void, Error> wg_configure(const std::string& run_dir, const std::string& ifname,
                                        const WgKey& self, int listen_port,
                                        const std::vector<WgPeer>& peers,
                                        std::uint32_t fwmark = 0);

// The device's state as UAPI `get=1` returns it (key=value lines: private_key, listen_port, then
// per peer public_key, endpoint, last_handshake_time_sec, rx_bytes, tx_bytes, allowed_ip, ...)
// without the final errno line. Keys are in hex there.
std::expected<std::string, Error> wg_get(const std::string& run_dir, const std::string& ifname);

std::string hex(const WgKeyBytes& key);  // UAPI's form of a key

}  // namespace podtrace::lab
