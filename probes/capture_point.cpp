#include "probes/capture_point.hpp"

#include <filesystem>

namespace podtrace::probes {

FileArg parse_file_arg(const std::string& arg) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0 || std::filesystem::exists(arg)) return {arg, ""};
    const std::string node = arg.substr(0, eq);
    if (node.find('/') != std::string::npos) return {arg, ""};  // a path, not a node name
    return {arg.substr(eq + 1), node};
}

CapturePoint capture_point(const FileArg& arg, const std::string& annotated_node,
                           const std::string& if_name) {
    CapturePoint p{annotated_node, if_name};
    if (p.node.empty()) p.node = arg.node;
    if (!p.node.empty() && !p.interface.empty()) return p;
    std::string stem = arg.path == "-" ? "" : std::filesystem::path(arg.path).stem().string();
    std::string stem_iface;
    if (const auto us = stem.find('_'); us != std::string::npos && us > 0) {
        stem_iface = stem.substr(us + 1);
        stem.resize(us);
    }
    if (p.node.empty()) p.node = stem;
    if (p.interface.empty()) p.interface = stem_iface;
    return p;
}

}  // namespace podtrace::probes
