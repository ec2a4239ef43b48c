#include "ingest/inventory.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

namespace podtrace::ingest {
namespace {

std::expected<std::string, Error> slurp(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        return std::unexpected(Error{path + ": is a directory"});
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::unexpected(Error{path + ": cannot open: " + std::strerror(errno)});
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) return std::unexpected(Error{path + ": read error"});
    return s.str();
}

}  // namespace

std::expected<void, Error> load_inventory(const InputOptions& opt, trace::Inventory& inv) {
    using Adder = std::expected<void, Error> (trace::Inventory::*)(std::string_view);
    const std::pair<const std::vector<std::string>*, std::pair<const char*, Adder>> sets[] = {
        {&opt.pods_json, {"--pods", &trace::Inventory::add_pods}},
        {&opt.services_json, {"--services", &trace::Inventory::add_services}},
        {&opt.nodes_json, {"--nodes", &trace::Inventory::add_nodes}},
    };
    for (const auto& [files, what] : sets) {
        for (const std::string& f : *files) {
            auto text = slurp(f);
            if (!text)
                return std::unexpected(Error{std::string(what.first) + ' ' + text.error().message});
            if (auto r = (inv.*what.second)(*text); !r)
                return std::unexpected(
                    Error{std::string(what.first) + ' ' + f + ": " + r.error().message});
        }
    }
    return {};
}

}  // namespace podtrace::ingest
