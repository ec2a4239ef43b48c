// libFuzzer target: bytes -> `podtrace tui --snapshot`: the engine replays the capture(s), and
// one of its screens (flows, a flow's path, a packet's dissection, the interfaces) is drawn.
// The canvas must hold no control byte from the input.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <thread>

#include "fuzz/checks.hpp"
#include "fuzz/input_files.hpp"
#include "tui/engine.hpp"
#include "tui/run.hpp"

namespace pf = podtrace::fuzz;
namespace pt = podtrace::tui;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    pt::EngineOptions opt;
    opt.input.files = pf::write_captures({data, size}, 4);
    // --keep 1 MiB: the default 64 MiB store, set up and torn down per input, would be most of
    // the time; the store's wrapping is reached sooner too.
    opt.keep_bytes = std::size_t{1} << 20;
    auto engine = pt::Engine::open(opt);
    if (!engine) {
        if (engine.error().message.empty()) pf::violated("engine failed without a reason");
        return 0;
    }
    (*engine)->start();
    while (!(*engine)->done()) std::this_thread::yield();
    // The screen the keys lead to, picked by the input's size (a capture stays a valid seed).
    static constexpr const char* kKeys[] = {"",  "<Enter>",           "<Enter><Down><Enter>",
                                            "i", "<End><Enter><End>", "/a<Enter>"};
    pt::RunOptions run;
    run.width = 100 + static_cast<int>(size % 61);
    run.height = 30;
    run.color = false;
    run.keys = *pt::parse_keys(kKeys[size % std::size(kKeys)]);
    std::ostringstream out;
    if (auto r = pt::run_snapshot(**engine, run, out); !r) pf::violated(r.error().message);
    pf::check_terminal_text(out.str(), "tui --snapshot");
    for (const auto& e : (*engine)->input_errors())
        if (e.message.empty()) pf::violated("an input error without a reason");
    return 0;
}
