#pragma once
// What `kubectl get pods|svc|nodes -A -o json` would print for the lab's cluster, so
// `podtrace report --pods/--services/--nodes` names what a lab recording shows. Deterministic
// (fixed uids and timestamps): recorded examples are committed and must not churn.
#include <expected>
#include <map>
#include <string>

#include "core/error.hpp"
#include "lab/topology.hpp"

namespace podtrace::lab {

// kubectl's List documents (4-space indent, keys sorted, trailing newline), items in kubectl's
// namespace/name order. Pods: every kPods entry, plus each node's host-networked kube-proxy.
std::string pods_json();
// The apiserver's `kubernetes` service and every kServices entry (selector app: <name>).
std::string services_json();
// One Node per kNodes entry with Calico's annotations for `m`; `wg_pub` (node name → base64
// public key) adds projectcalico.org/WireguardPublicKey in wireguard mode.
std::string nodes_json(Mode m, const std::map<std::string, std::string>& wg_pub = {});

// The running lab's WireGuard public keys by node name (empty outside wireguard mode).
std::map<std::string, std::string> wireguard_public_keys();

// Writes pods.json, services.json and nodes.json into `dir` (creating it). Each file is replaced
// whole or not at all; the error names the path that failed.
std::expected<void, Error> write_kube_json(const std::string& dir, Mode m,
                                           const std::map<std::string, std::string>& wg_pub = {});

}  // namespace podtrace::lab
