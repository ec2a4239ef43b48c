#include "probes/capture_point.hpp"

#include <algorithm>
#include <filesystem>

namespace podtrace::probes {

FileArg parse_file_arg(const std::string& arg) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0 || std::filesystem::exists(arg)) return {arg, "", ""};
    const std::string name = arg.substr(0, eq);
    const auto slash = name.find('/');
    if (slash == std::string::npos) return {arg.substr(eq + 1), name, ""};
    // NODE/IFACE: one '/', both sides named, an interface name as Linux allows (IFNAMSIZ).
    const std::string node = name.substr(0, slash), iface = name.substr(slash + 1);
    if (node.empty() || node.starts_with('.') || iface.empty() || iface.size() > 15 ||
        iface.find('/') != std::string::npos)
        return {arg, "", ""};  // a path, not a capture point
    return {arg.substr(eq + 1), node, iface};
}

CapturePoint capture_point(const FileArg& arg, const std::string& annotated_node,
                           const std::string& if_name) {
    CapturePoint p{annotated_node, if_name};
    if (p.node.empty()) p.node = arg.node;
    if (p.interface.empty()) p.interface = arg.interface;
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

void Overridden::add(const std::string& annotated_node, const std::string& if_name) {
    // A file of many interfaces lists a few.
    const auto keep = [](std::vector<std::string>& v, const std::string& name) {
        if (v.size() < 8 && std::find(v.begin(), v.end(), name) == v.end()) v.push_back(name);
    };
    if (!node_.empty() && !annotated_node.empty() && node_ != annotated_node)
        keep(nodes_, annotated_node);
    if (!interface_.empty() && !if_name.empty() && interface_ != if_name)
        keep(interfaces_, if_name);
}

std::string Overridden::text() const {
    if (nodes_.empty() && interfaces_.empty()) return "";
    const auto list = [](const char* one, const std::vector<std::string>& v) {
        std::string s = v.size() == 1 ? one : std::string(one) + 's';
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : " ") + v[i];
        return s;
    };
    std::string t = "the file names";
    if (!nodes_.empty()) t += ' ' + list("node", nodes_);
    if (!nodes_.empty() && !interfaces_.empty()) t += " and";
    if (!interfaces_.empty()) t += ' ' + list("interface", interfaces_);
    const std::string given = node_ + (interface_.empty() ? "" : '/' + interface_);
    return t + ": kept, " + given + "= not used";
}

}  // namespace podtrace::probes
