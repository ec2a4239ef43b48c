#include "probes/pod_names.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>

namespace podtrace::probes {
namespace {

constexpr const char* kNsFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
// Processes asked per peer namespace: a pod has a handful; a busy one need not cost more.
constexpr std::size_t kMaxPerNetns = 64;

const std::string kPermission =
    "no permission to look into other processes (/proc/PID/ns, /proc/PID/root): needs "
    "CAP_SYS_PTRACE and CAP_SYS_ADMIN, which `kubectl debug node/NODE --profile=netadmin` "
    "lacks; use --profile=sysadmin";

class OwnedFd {
public:
    explicit OwnedFd(int fd) : fd_(fd) {}
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;
    ~OwnedFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

// The first line of a file; nullopt with errno kept when it cannot be opened.
std::optional<std::string> first_line(const std::string& path, int& err) {
    errno = 0;
    std::ifstream f(path);
    if (!f) {
        err = errno ? errno : ENOENT;
        return std::nullopt;
    }
    std::string line;
    std::getline(f, line);
    err = 0;
    return trimmed(line);
}

bool denied_errno(int e) { return e == EACCES || e == EPERM; }

bool has_cap(int cap) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capget, &hdr, data) != 0) return false;
    return data[cap / 32].effective & (1u << (cap % 32));
}

// `path` as the process behind `root` (/proc/PID/root) sees it: an absolute symlink on the way
// (/var/run -> /run in most images) points into its root, not ours.
std::string in_root(const std::string& root, const std::string& path) {
    std::vector<std::string> todo;
    auto push = [&todo](const std::string& p) {
        std::vector<std::string> parts;
        for (std::size_t i = 0; i < p.size();) {
            const std::size_t j = std::min(p.find('/', i), p.size());
            if (j > i) parts.push_back(p.substr(i, j - i));
            i = j + 1;
        }
        todo.insert(todo.end(), parts.rbegin(), parts.rend());
    };
    push(path);
    std::string at;  // resolved so far, relative to root
    for (int links = 0; !todo.empty();) {
        const std::string part = todo.back();
        todo.pop_back();
        if (part == ".") continue;
        if (part == "..") {
            at = at.substr(0, at.rfind('/') == std::string::npos ? 0 : at.rfind('/'));
            continue;
        }
        const std::string next = at + "/" + part;
        char target[4096];
        const ssize_t n = readlink((root + next).c_str(), target, sizeof target - 1);
        if (n <= 0 || ++links > 16) {
            at = next;
            continue;
        }
        const std::string t(target, static_cast<std::size_t>(n));
        if (t.front() == '/') at.clear();
        push(t);
    }
    return root + at;
}

// RTM_GETNSID by file descriptor: the id the current network namespace gives the namespace
// behind `fd`, as IFLA_LINK_NETNSID names it; nullopt when it has none.
std::optional<int> nsid_of(int nl, int fd) {
    alignas(NLMSG_ALIGNTO) unsigned char req[NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(rtgenmsg)) +
                                             NLA_HDRLEN + sizeof(std::uint32_t)] = {};
    auto* h = reinterpret_cast<nlmsghdr*>(req);
    h->nlmsg_len = sizeof req;
    h->nlmsg_type = RTM_GETNSID;
    h->nlmsg_flags = NLM_F_REQUEST;
    static std::uint32_t seq = 0;
    h->nlmsg_seq = ++seq;
    reinterpret_cast<rtgenmsg*>(req + NLMSG_HDRLEN)->rtgen_family = AF_UNSPEC;
    auto* a = reinterpret_cast<nlattr*>(req + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(rtgenmsg)));
    a->nla_len = NLA_HDRLEN + sizeof(std::uint32_t);
    a->nla_type = NETNSA_FD;
    const auto ufd = static_cast<std::uint32_t>(fd);
    std::memcpy(req + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(rtgenmsg)) + NLA_HDRLEN, &ufd, sizeof ufd);
    if (send(nl, req, sizeof req, 0) != static_cast<ssize_t>(sizeof req)) return std::nullopt;
    alignas(NLMSG_ALIGNTO) unsigned char buf[4096];
    const ssize_t n = recv(nl, buf, sizeof buf, 0);
    if (n < static_cast<ssize_t>(NLMSG_HDRLEN)) return std::nullopt;
    auto* r = reinterpret_cast<nlmsghdr*>(buf);
    if (!NLMSG_OK(r, static_cast<unsigned>(n)) || r->nlmsg_type != RTM_NEWNSID) return std::nullopt;
    const std::size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(rtgenmsg));
    for (std::size_t at = off; at + NLA_HDRLEN <= r->nlmsg_len;) {
        nlattr attr;
        std::memcpy(&attr, buf + at, sizeof attr);
        if (attr.nla_len < NLA_HDRLEN || at + attr.nla_len > r->nlmsg_len) break;
        if ((attr.nla_type & NLA_TYPE_MASK) == NETNSA_NSID && attr.nla_len >= NLA_HDRLEN + 4) {
            std::int32_t id;
            std::memcpy(&id, buf + at + NLA_HDRLEN, sizeof id);
            if (id < 0) return std::nullopt;
            return id;
        }
        at += NLA_ALIGN(attr.nla_len);
    }
    return std::nullopt;
}

// The hostname of the UTS namespace behind `fd`, read by a thread that joins it (setns
// changes the calling thread only). "" with `denied` set when joining was not permitted.
std::string uts_hostname(int fd, bool& denied) {
    std::string name;
    int err = 0;
    std::thread t([&] {
        if (setns(fd, CLONE_NEWUTS) != 0) {
            err = errno;
            return;
        }
        utsname u{};
        if (uname(&u) == 0) name = u.nodename;
    });
    t.join();
    denied = denied_errno(err);
    return name;
}

PeerProcess read_process(const std::string& proc, int pid, std::map<ino_t, std::string>& uts_seen) {
    PeerProcess p;
    p.pid = pid;
    const std::string base = proc + "/" + std::to_string(pid);
    struct stat st{};
    if (stat((base + "/ns/uts").c_str(), &st) == 0) {
        if (auto it = uts_seen.find(st.st_ino); it != uts_seen.end()) {
            p.hostname = it->second;
            p.hostname_via = "UTS namespace";
        } else if (OwnedFd fd(open((base + "/ns/uts").c_str(), O_RDONLY | O_CLOEXEC));
                   fd.get() >= 0) {
            bool denied = false;
            p.hostname = uts_hostname(fd.get(), denied);
            p.denied |= denied;
            if (!p.hostname.empty()) {
                p.hostname_via = "UTS namespace";
                uts_seen[st.st_ino] = p.hostname;
            }
        } else {
            p.denied |= denied_errno(errno);
        }
    } else {
        p.denied |= denied_errno(errno);
    }
    int err = 0;
    if (p.hostname.empty()) {
        // Without CAP_SYS_ADMIN: the file a container runtime writes the pod's hostname to.
        if (auto h = first_line(in_root(base + "/root", "/etc/hostname"), err); h && !h->empty()) {
            p.hostname = *h;
            p.hostname_via = "/etc/hostname";
        }
        p.denied |= denied_errno(err);
    }
    if (auto ns = first_line(in_root(base + "/root", kNsFile), err); ns && !ns->empty()) p.ns = *ns;
    p.denied |= denied_errno(err);
    return p;
}

struct Netns {
    std::vector<int> pids;
};

}  // namespace

VethName decide_veth_name(const std::string& veth, const std::vector<PeerProcess>& procs,
                          const VethNamer& namer) {
    VethName out{veth, std::nullopt, ""};
    if (procs.empty()) {
        out.why_not = "no process in its peer network namespace";
        return out;
    }
    // The containers of a pod share its UTS namespace, but only app containers have the
    // serviceaccount file (the pause container has none): pair any hostname with any namespace.
    const PeerProcess* host = nullptr;
    const PeerProcess* nsp = nullptr;
    std::string tried;
    for (const PeerProcess& h : procs) {
        if (h.hostname.empty()) continue;
        for (const PeerProcess& n : procs) {
            if (!n.ns) continue;
            const std::string want = namer(*n.ns, h.hostname);
            if (want == veth) {
                host = &h;
                nsp = &n;
                break;
            }
            const std::string t = "\"" + *n.ns + "." + h.hostname + "\" gives " + want;
            if (tried.find(t) == std::string::npos) tried += (tried.empty() ? "" : ", ") + t;
        }
        if (host) break;
    }
    if (host) {
        out.name = PodName{*nsp->ns, host->hostname,
                           "hostname " + host->hostname + " (" + host->hostname_via + " of pid " +
                               std::to_string(host->pid) + "), namespace " + *nsp->ns +
                               " (serviceaccount file of pid " + std::to_string(nsp->pid) +
                               "), Calico's veth name matches"};
        return out;
    }
    const bool any_host = std::ranges::any_of(procs, [](auto& p) { return !p.hostname.empty(); });
    const bool any_ns = std::ranges::any_of(procs, [](auto& p) { return p.ns.has_value(); });
    const bool denied = std::ranges::any_of(procs, [](auto& p) { return p.denied; });
    std::string pids;
    for (std::size_t i = 0; i < procs.size() && i < 8; ++i)
        pids += (pids.empty() ? "" : " ") + std::to_string(procs[i].pid);
    if (procs.size() > 8) pids += " ...";
    const std::string of = " of its " + std::to_string(procs.size()) + " process" +
                           (procs.size() == 1 ? "" : "es") + " (pid " + pids + ")";
    if ((!any_host || !any_ns) && denied) {
        out.why_not = kPermission;
    } else if (!any_host) {
        out.why_not = "no hostname readable for any" + of;
    } else if (!any_ns) {
        out.why_not = "no namespace file (" + std::string(kNsFile) + ") in any" + of;
    } else {
        out.why_not = "name mismatch: " + tried + ", not " + veth;
    }
    return out;
}

std::vector<VethName> name_veths(const std::vector<VethPeer>& veths, const VethNamer& namer,
                                 const std::string& proc) {
    std::vector<VethName> out;
    if (veths.empty()) return out;
    struct stat self{};
    const bool self_known = stat((proc + "/thread-self/ns/net").c_str(), &self) == 0;
    // Network namespaces of every process but ours, by inode.
    std::map<ino_t, Netns> by_inode;
    std::size_t denied = 0, seen = 0;
    if (DIR* d = opendir(proc.c_str())) {
        while (dirent* e = readdir(d)) {
            char* end = nullptr;
            const long pid = std::strtol(e->d_name, &end, 10);
            if (pid <= 0 || *end != '\0') continue;
            ++seen;
            struct stat st{};
            if (stat((proc + "/" + e->d_name + "/ns/net").c_str(), &st) != 0) {
                if (denied_errno(errno)) ++denied;
                continue;
            }
            if (self_known && st.st_ino == self.st_ino) continue;
            by_inode[st.st_ino].pids.push_back(static_cast<int>(pid));
        }
        closedir(d);
    }
    // Which of them each netnsid is, as this namespace numbers its peers.
    std::map<int, const Netns*> by_nsid;
    OwnedFd nl(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (nl.get() >= 0) {
        timeval tv{1, 0};
        setsockopt(nl.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        for (auto& [ino, ns] : by_inode) {
            std::ranges::sort(ns.pids);
            for (int pid : ns.pids) {
                OwnedFd fd(open((proc + "/" + std::to_string(pid) + "/ns/net").c_str(),
                                O_RDONLY | O_CLOEXEC));
                if (fd.get() < 0) continue;  // gone meanwhile: the next one will do
                if (auto id = nsid_of(nl.get(), fd.get())) by_nsid[*id] = &ns;
                break;
            }
        }
    }
    std::map<ino_t, std::string> uts_seen;
    for (const VethPeer& v : veths) {
        if (!v.peer_netnsid) {
            out.push_back({v.veth, std::nullopt,
                           "its peer is in this network namespace: not a pod's veth"});
            continue;
        }
        auto it = by_nsid.find(*v.peer_netnsid);
        if (it == by_nsid.end()) {
            // Without CAP_SYS_PTRACE the denied processes may be the very ones in that
            // namespace: do not claim there are none. (With it, a denial is some odd process.)
            std::string why = denied > 0 && !has_cap(CAP_SYS_PTRACE) ? kPermission + " (" + std::to_string(denied) + " of " +
                                               std::to_string(seen) + " processes)"
                                         : "no process in its peer network namespace (netnsid " +
                                               std::to_string(*v.peer_netnsid) + ")";
            if (seen == 0) why = "cannot read " + proc + " (is the host's /proc mounted here?)";
            out.push_back({v.veth, std::nullopt, why});
            continue;
        }
        std::vector<PeerProcess> procs;
        for (int pid : it->second->pids) {
            if (procs.size() == kMaxPerNetns) break;
            procs.push_back(read_process(proc, pid, uts_seen));
        }
        out.push_back(decide_veth_name(v.veth, procs, namer));
    }
    return out;
}

}  // namespace podtrace::probes
