#pragma once
// Where a frame was captured: node + interface. For files the node comes from podtrace's own
// pcapng annotation, else from a NODE=PATH argument, else from the file name.
#include <string>

namespace podtrace::probes {

struct FileArg {
    std::string path;
    std::string node;  // from NODE=PATH; "" when not given
};

// "k8s-w1=cap.pcapng" → {cap.pcapng, k8s-w1}; a path that exists as written is never split,
// so a file whose name holds '=' still opens.
FileArg parse_file_arg(const std::string& arg);

struct CapturePoint {
    std::string node;
    std::string interface;
};

// The node and interface of a file's interface: annotation (annotated_node, if_name), then the
// NODE=PATH node, then the file stem. A stem of the form NODE_IFACE (as `podtrace lab record`
// names files) gives both; `if_name` wins over the stem for the interface.
CapturePoint capture_point(const FileArg& arg, const std::string& annotated_node,
                           const std::string& if_name);

}  // namespace podtrace::probes
