#include "lab/kube_json.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "process/write.hpp"

namespace podtrace::lab {

using nlohmann::json;

namespace {

// Every object claims to exist since the same instant, so recordings do not churn.
constexpr const char* kCreated = "2026-11-27T00:00:00Z";
constexpr const char* kK8sVersion = "v1.31.2";  // the seed cluster's kubelet and kube-proxy
// The apiserver takes the first address of the service CIDR (kServiceCidr).
constexpr const char* kApiserverIp = "10.200.1.1";

std::vector<unsigned char> digest(const EVP_MD* md, std::string_view text) {
    std::vector<unsigned char> out(EVP_MAX_MD_SIZE);
    unsigned len = 0;
    EVP_Digest(text.data(), text.size(), out.data(), &len, md, nullptr);
    out.resize(len);
    return out;
}

std::string hex(const std::vector<unsigned char>& bytes, std::size_t n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n && i < bytes.size(); ++i) {
        out += kHex[bytes[i] >> 4];
        out += kHex[bytes[i] & 0xf];
    }
    return out;
}

// A name-based (version 5, RFC 9562) UUID: stable across recordings, unique per object.
std::string uid(std::string_view kind, std::string_view ns, std::string_view name) {
    // RFC 9562's URL namespace, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
    static constexpr unsigned char kNamespace[] = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad,
                                                   0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0,
                                                   0x4f, 0xd4, 0x30, 0xc8};
    std::string input(reinterpret_cast<const char*>(kNamespace), sizeof kNamespace);
    input.append("podtrace-lab:").append(kind).append("/").append(ns).append("/").append(name);
    auto b = digest(EVP_sha1(), input);
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x50);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    const std::string h = hex(b, 16);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20);
}

// containerd's 64-hex ids, derived like uid() so they are stable too.
std::string container_id(std::string_view what, std::string_view ns, std::string_view name) {
    std::string input = "podtrace-lab:";
    input.append(what).append("/").append(ns).append("/").append(name);
    return hex(digest(EVP_sha256(), input), 32);
}

// A DaemonSet pod's name: the set's name and 5 characters of k8s's random-string alphabet,
// here picked by the node's name instead of at random.
std::string daemonset_pod_name(std::string_view set, std::string_view node) {
    static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
    const auto b = digest(EVP_sha1(), std::string(set) + "/" + std::string(node));
    std::string out = std::string(set) + "-";
    for (int i = 0; i < 5; ++i) out += kAlphabet[b[i] % kAlphabet.size()];
    return out;
}

json condition(const char* type, const char* status) {
    return {{"lastProbeTime", nullptr},
            {"lastTransitionTime", kCreated},
            {"status", status},
            {"type", type}};
}

json node_condition(const char* type, const char* status, const char* reason,
                    const char* message) {
    return {{"lastHeartbeatTime", kCreated}, {"lastTransitionTime", kCreated},
            {"message", message},            {"reason", reason},
            {"status", status},              {"type", type}};
}

json ip_list(std::string_view ip) { return json::array({{{"ip", ip}}}); }

// kubectl -A lists by namespace, then name (the apiserver's storage order).
json sorted_list(json items) {
    auto key = [](const json& item) {
        const json& md = item.at("metadata");
        return std::pair(md.value("namespace", ""), md.at("name").get<std::string>());
    };
    std::sort(items.begin(), items.end(),
              [&](const json& a, const json& b) { return key(a) < key(b); });
    return {{"apiVersion", "v1"},
            {"items", std::move(items)},
            {"kind", "List"},
            {"metadata", {{"resourceVersion", ""}}}};
}

std::string text_of(const json& doc) { return doc.dump(4) + "\n"; }

struct PodDoc {
    std::string ns, name, node_name, node_ip, ip;
    json labels, annotations, owner_references, container, spec_extra;
};

json pod_item(const PodDoc& p) {
    const std::string& cname = p.container["name"].get_ref<const std::string&>();
    json metadata = {{"creationTimestamp", kCreated}, {"labels", p.labels},
                     {"name", p.name},                {"namespace", p.ns},
                     {"resourceVersion", "1000"},     {"uid", uid("Pod", p.ns, p.name)}};
    if (!p.annotations.empty()) metadata["annotations"] = p.annotations;
    if (!p.owner_references.is_null()) {
        metadata["ownerReferences"] = p.owner_references;
        metadata["generateName"] = p.owner_references[0]["name"].get<std::string>() + "-";
    }
    json spec = {{"containers", json::array({p.container})},
                 {"dnsPolicy", "ClusterFirst"},
                 {"enableServiceLinks", true},
                 {"nodeName", p.node_name},
                 {"preemptionPolicy", "PreemptLowerPriority"},
                 {"priority", 0},
                 {"restartPolicy", "Always"},
                 {"schedulerName", "default-scheduler"},
                 {"securityContext", json::object()},
                 {"serviceAccount", "default"},
                 {"serviceAccountName", "default"},
                 {"terminationGracePeriodSeconds", 30}};
    spec.update(p.spec_extra);
    json status = {
        {"conditions", json::array({condition("PodReadyToStartContainers", "True"),
                                    condition("Initialized", "True"),
                                    condition("Ready", "True"),
                                    condition("ContainersReady", "True"),
                                    condition("PodScheduled", "True")})},
        {"containerStatuses",
         json::array({{{"containerID", "podtrace-lab://" + container_id("container", p.ns, p.name)},
                       {"image", p.container["image"]},
                       {"imageID", ""},
                       {"lastState", json::object()},
                       {"name", cname},
                       {"ready", true},
                       {"restartCount", 0},
                       {"started", true},
                       {"state", {{"running", {{"startedAt", kCreated}}}}}}})},
        {"hostIP", p.node_ip},
        {"hostIPs", ip_list(p.node_ip)},
        {"phase", "Running"},
        {"podIP", p.ip},
        {"podIPs", ip_list(p.ip)},
        {"qosClass", "BestEffort"},
        {"startTime", kCreated}};
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", std::move(metadata)},
            {"spec", std::move(spec)},
            {"status", std::move(status)}};
}

// A lab pod as `kubectl run NAME` makes it (label run: NAME, one container named NAME), serving
// HTTP on kWebPort like the lab's pods do; service endpoints also carry app: <service>.
json lab_pod(const PodSpec& p) {
    PodDoc d;
    d.ns = p.ns;
    d.name = p.name;
    d.node_name = p.node;
    d.node_ip = node(p.node)->ip;  // a pod of the table is on a node of the table
    d.ip = p.ip;
    d.labels = {{"run", p.name}};
    for (const auto& s : kServices)
        if (s.endpoint_pod == p.name) d.labels["app"] = s.name;
    const std::string cidr = std::string(p.ip) + "/32";
    d.annotations = {{"cni.projectcalico.org/containerID", container_id("sandbox", p.ns, p.name)},
                     {"cni.projectcalico.org/podIP", cidr},
                     {"cni.projectcalico.org/podIPs", cidr}};
    // No container runs: the pod is a network namespace, and `podtrace lab traffic` serves
    // HTTP from inside it. The image names that rather than pretend to be one.
    d.container = {{"args", json::array({"lab", "traffic"})},
                   {"image", "podtrace.lab/network-namespace"},
                   {"imagePullPolicy", "IfNotPresent"},
                   {"name", p.name},
                   {"ports", json::array({{{"containerPort", kWebPort}, {"protocol", "TCP"}}})},
                   {"resources", json::object()},
                   {"terminationMessagePath", "/dev/termination-log"},
                   {"terminationMessagePolicy", "File"}};
    d.spec_extra = json::object();
    return pod_item(d);
}

// kube-proxy runs on every node in the host's network namespace: its pod IP is the node's.
json kube_proxy_pod(const NodeSpec& n) {
    PodDoc d;
    d.ns = "kube-system";
    d.name = daemonset_pod_name("kube-proxy", n.name);
    d.node_name = n.name;
    d.node_ip = n.ip;
    d.ip = n.ip;
    d.labels = {{"controller-revision-hash", "6d8f9b7c5"},
                {"k8s-app", "kube-proxy"},
                {"pod-template-generation", "1"}};
    d.annotations = json::object();
    d.owner_references = json::array({{{"apiVersion", "apps/v1"},
                                       {"blockOwnerDeletion", true},
                                       {"controller", true},
                                       {"kind", "DaemonSet"},
                                       {"name", "kube-proxy"},
                                       {"uid", uid("DaemonSet", "kube-system", "kube-proxy")}}});
    d.container = {
        {"command", json::array({"/usr/local/bin/kube-proxy",
                                 "--config=/var/lib/kube-proxy/config.conf",
                                 "--hostname-override=$(NODE_NAME)"})},
        {"env", json::array({{{"name", "NODE_NAME"},
                              {"valueFrom",
                               {{"fieldRef", {{"apiVersion", "v1"},
                                              {"fieldPath", "spec.nodeName"}}}}}}})},
        {"image", std::string("registry.k8s.io/kube-proxy:") + kK8sVersion},
        {"imagePullPolicy", "IfNotPresent"},
        {"name", "kube-proxy"},
        {"resources", json::object()},
        {"securityContext", {{"privileged", true}}},
        {"terminationMessagePath", "/dev/termination-log"},
        {"terminationMessagePolicy", "File"}};
    d.spec_extra = {{"hostNetwork", true},
                    {"priority", 2000001000},
                    {"priorityClassName", "system-node-critical"},
                    {"serviceAccount", "kube-proxy"},
                    {"serviceAccountName", "kube-proxy"}};
    return pod_item(d);
}

json service_item(std::string_view ns, std::string_view name, std::string_view cluster_ip,
                  json labels, json port, json selector) {
    json spec = {{"clusterIP", cluster_ip},
                 {"clusterIPs", json::array({cluster_ip})},
                 {"internalTrafficPolicy", "Cluster"},
                 {"ipFamilies", json::array({"IPv4"})},
                 {"ipFamilyPolicy", "SingleStack"},
                 {"ports", json::array({std::move(port)})},
                 {"sessionAffinity", "None"},
                 {"type", "ClusterIP"}};
    if (!selector.is_null()) spec["selector"] = std::move(selector);
    return {{"apiVersion", "v1"},
            {"kind", "Service"},
            {"metadata",
             {{"creationTimestamp", kCreated},
              {"labels", std::move(labels)},
              {"name", name},
              {"namespace", ns},
              {"resourceVersion", "1000"},
              {"uid", uid("Service", ns, name)}}},
            {"spec", std::move(spec)},
            {"status", {{"loadBalancer", json::object()}}}};
}

json node_item(Mode m, const NodeSpec& n, const std::map<std::string, std::string>& wg_pub) {
    const std::string_view subnet = n.subnet;
    json ann = {{"kubeadm.alpha.kubernetes.io/cri-socket",
                 "unix:///var/run/containerd/containerd.sock"},
                {"node.alpha.kubernetes.io/ttl", "0"},
                {"projectcalico.org/IPv4Address",
                 std::string(n.ip) + std::string(subnet.substr(subnet.find('/')))},
                {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}};
    // calico-node records the tunnel device it gave the node, as the mode has one.
    switch (m) {
    case Mode::ipip:
    case Mode::crosssubnet: ann["projectcalico.org/IPv4IPIPTunnelAddr"] = n.tunnel_ip; break;
    case Mode::vxlan:
        ann["projectcalico.org/IPv4VXLANTunnelAddr"] = n.tunnel_ip;
        ann["projectcalico.org/VXLANTunnelMACAddr"] = n.vtep_mac;
        break;
    case Mode::wireguard: {
        ann["projectcalico.org/IPv4WireguardInterfaceAddr"] = n.tunnel_ip;
        auto key = wg_pub.find(std::string(n.name));
        if (key != wg_pub.end()) ann["projectcalico.org/WireguardPublicKey"] = key->second;
        break;
    }
    case Mode::direct: break;
    }
    json node_info = {{"architecture", "amd64"},
                      {"bootID", uid("Boot", "", n.name)},
                      {"containerRuntimeVersion", "podtrace-lab://network-namespaces"},
                      {"kernelVersion", ""},  // the recording machine's, deliberately not recorded
                      {"kubeProxyVersion", kK8sVersion},
                      {"kubeletVersion", kK8sVersion},
                      {"machineID", hex(digest(EVP_sha1(), n.name), 16)},
                      {"operatingSystem", "linux"},
                      {"osImage", "podtrace lab (network namespaces on one Linux host)"},
                      {"systemUUID", uid("Machine", "", n.name)}};
    json status = {
        {"addresses", json::array({{{"address", n.ip}, {"type", "InternalIP"}},
                                   {{"address", n.name}, {"type", "Hostname"}}})},
        {"conditions",
         json::array(
             {node_condition("NetworkUnavailable", "False", "CalicoIsUp",
                             "Calico is running on this node"),
              node_condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                             "kubelet has sufficient memory available"),
              node_condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                             "kubelet has no disk pressure"),
              node_condition("PIDPressure", "False", "KubeletHasSufficientPID",
                             "kubelet has sufficient PID available"),
              node_condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")})},
        {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
        {"nodeInfo", std::move(node_info)}};
    return {{"apiVersion", "v1"},
            {"kind", "Node"},
            {"metadata",
             {{"annotations", std::move(ann)},
              {"creationTimestamp", kCreated},
              {"labels",
               {{"beta.kubernetes.io/arch", "amd64"},
                {"beta.kubernetes.io/os", "linux"},
                {"kubernetes.io/arch", "amd64"},
                {"kubernetes.io/hostname", n.name},
                {"kubernetes.io/os", "linux"}}},
              {"name", n.name},
              {"resourceVersion", "1000"},
              {"uid", uid("Node", "", n.name)}}},
            {"spec", {{"podCIDR", n.block}, {"podCIDRs", json::array({n.block})}}},
            {"status", std::move(status)}};
}

}  // namespace

std::string pods_json() {
    json items = json::array();
    for (const auto& p : kPods) items.push_back(lab_pod(p));
    for (const auto& n : kNodes) items.push_back(kube_proxy_pod(n));
    return text_of(sorted_list(std::move(items)));
}

std::string services_json() {
    json items = json::array();
    items.push_back(service_item(
        "default", "kubernetes", kApiserverIp,
        {{"component", "apiserver"}, {"provider", "kubernetes"}},
        {{"name", "https"}, {"port", 443}, {"protocol", "TCP"}, {"targetPort", 6443}}, nullptr));
    for (const auto& s : kServices)
        items.push_back(service_item(s.ns, s.name, s.cluster_ip, {{"app", s.name}},
                                     {{"name", "http"},
                                      {"port", s.port},
                                      {"protocol", "TCP"},
                                      {"targetPort", s.target_port}},
                                     {{"app", s.name}}));
    return text_of(sorted_list(std::move(items)));
}

std::string nodes_json(Mode m, const std::map<std::string, std::string>& wg_pub) {
    json items = json::array();
    for (const auto& n : kNodes) items.push_back(node_item(m, n, wg_pub));
    return text_of(sorted_list(std::move(items)));
}

std::map<std::string, std::string> wireguard_public_keys() {
    std::map<std::string, std::string> keys;
    for (const auto& n : kNodes) {
        std::ifstream in(std::filesystem::path(std::string(kStateDir)) / "wireguard" /
                         std::string(n.name) / "public_key");
        std::string k;
        if (std::getline(in, k) && !k.empty()) keys[std::string(n.name)] = k;
    }
    return keys;
}

std::expected<void, Error> write_kube_json(const std::string& dir, Mode m,
                                           const std::map<std::string, std::string>& wg_pub) {
    const std::pair<const char*, std::string> files[] = {
        {"pods.json", pods_json()},
        {"services.json", services_json()},
        {"nodes.json", nodes_json(m, wg_pub)},
    };
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return std::unexpected(Error{"cannot create directory " + dir + ": " + ec.message()});
    for (const auto& [name, text] : files) {
        const auto path = (std::filesystem::path(dir) / name).string();
        if (auto written = process::replace_file(path, text); !written) return written;
    }
    return {};
}

}  // namespace podtrace::lab
