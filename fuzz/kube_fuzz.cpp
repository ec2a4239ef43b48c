// libFuzzer target: kubectl JSON (pods, services or nodes, as the first byte picks) or a
// capture's node facts (podtrace's SHB annotation) -> podtrace's inventory; what parses is then
// used for names in a report over a fixed capture, so hostile names reach every format.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string_view>

#include "core/printable.hpp"
#include "fuzz/checks.hpp"
#include "fuzz/input_files.hpp"
#include "report/format.hpp"
#include "report/report.hpp"
#include "trace/topology.hpp"

namespace pf = podtrace::fuzz;
namespace pr = podtrace::report;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view json(reinterpret_cast<const char*>(data) + 1, size - 1);
    const unsigned kind = data[0] % 4;
    if (kind == 3) {
        if (auto facts = podtrace::trace::parse_node_facts(json);
            !facts && facts.error().message.empty())
            pf::violated("node facts refused without a reason");
        return 0;
    }
    pr::Options opt;
    const std::string path = pf::write_file({data + 1, size - 1}, "kubectl.json");
    const std::string ex = PODTRACE_EXAMPLES "/ipip/";
    opt.input.files = {ex + "k8s-w1.pcapng", ex + "k8s-w2.pcapng"};
    opt.input.pods_json = {kind == 0 ? path : ex + "pods.json"};
    opt.input.services_json = {kind == 1 ? path : ex + "services.json"};
    opt.input.nodes_json = {kind == 2 ? path : ex + "nodes.json"};
    opt.input.clock = false;
    auto opened = pr::Report::open(opt);
    if (!opened) pf::violated("report refused its fixed options: " + opened.error().message);
    pr::Report& r = **opened;
    if (auto read = r.read(); !read) {
        if (read.error().message.empty()) pf::violated("kubectl JSON refused without a reason");
        pf::check_terminal_text(podtrace::core::printable(read.error().message), "error");
        return 0;
    }
    if (auto done = r.conclude(); !done) pf::violated("conclude: " + done.error().message);
    for (const auto f : {pr::Format::text, pr::Format::md, pr::Format::json, pr::Format::junit}) {
        std::ostringstream out;
        pr::write(r, f, out);
        if (f == pr::Format::json) {
            pf::check_json(out.str(), "report -f json");
            pf::check_json_layout(out.str(), "report -f json");
        }
        if (f == pr::Format::junit) pf::check_xml_chars(out.str(), "report -f junit");
    }
    return 0;
}
