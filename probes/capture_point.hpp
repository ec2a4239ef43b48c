#pragma once
// Where a frame was captured: node + interface. For files the node comes from podtrace's own
// pcapng annotation, else from a NODE=PATH argument, else from the file name.
#include <string>
#include <vector>

namespace podtrace::probes {

struct FileArg {
    std::string path;
    std::string node;       // from NODE=PATH or NODE/IFACE=PATH; "" when not given
    std::string interface;  // from NODE/IFACE=PATH; "" when not given
};

// "k8s-w1=cap.pcapng" → {cap.pcapng, k8s-w1}; "k8s-w1/tunl0=calico-ipip-tunl0.cap" →
// {calico-ipip-tunl0.cap, k8s-w1, tunl0}. A path that exists as written is never split, so a
// file whose name holds '=' still opens; neither is one with more than one '/' before the '='.
FileArg parse_file_arg(const std::string& arg);

struct CapturePoint {
    std::string node;
    std::string interface;
};

// The node and interface of a file's interface: what the file names (annotated_node, if_name),
// then the command line's NODE= or NODE/IFACE=, then the file stem. A stem of the form
// NODE_IFACE (as `podtrace lab record` names files) gives both. The command line fills in what
// the file leaves unnamed; where the two differ, overridden() says so.
CapturePoint capture_point(const FileArg& arg, const std::string& annotated_node,
                           const std::string& if_name);

// The names a file gives itself that differ from the command line's NODE= or NODE/IFACE=
// (the file's are kept), gathered over its interfaces for one note.
class Overridden {
public:
    Overridden() = default;
    explicit Overridden(const FileArg& arg) : node_(arg.node), interface_(arg.interface) {}
    void add(const std::string& annotated_node, const std::string& if_name);
    // "the file names node k8s-w2 and interfaces eth0, tunl0: kept, k8s-w1/tunl0= not used";
    // "" where nothing differed.
    std::string text() const;

private:
    std::string node_, interface_;  // the command line's
    std::vector<std::string> nodes_, interfaces_;
};

}  // namespace podtrace::probes
