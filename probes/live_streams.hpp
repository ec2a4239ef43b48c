#pragma once
// `podtrace tui --follow`'s input: one reader thread per live pcapng stream (a pipe, a FIFO,
// /dev/fd/N, "-"), each copying its frames as they arrive into its own fixed ring, for the
// ingest thread to take. Readers wait in poll() with a stop descriptor, so stop() ends
// them at once even while their writers are quiet.
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/frame.hpp"

namespace podtrace::probes {

class LiveStreams {
public:
    enum class State : std::uint8_t { waiting, reading, ended, failed, stopped };

    struct Interface {
        std::string name, node;  // as CaptureFile's InterfaceInfo
        // The Interface Statistics Blocks' capture span, known once the stream ended.
        std::optional<std::int64_t> capture_start_ns, capture_end_ns;
    };
    // What the ingest side copies when it changed (rarely: a header, an interface, the end).
    struct Info {
        std::uint64_t version = 0;
        State state = State::waiting;
        std::string node, facts;  // the latest section's podtrace annotations
        std::vector<Interface> interfaces;
        std::string error;                    // failed: names the path and the byte offset
        std::uint64_t frames = 0, bytes = 0;  // read so far
    };
    // A frame taken from a ring: bytes valid until release().
    struct Item {
        core::Frame frame;
        std::int64_t arrival_ns;  // steady clock, when the reader got it
    };

    // Opens every path without blocking (a FIFO with no writer yet opens at once) and without
    // reading; the error names the path.
    static std::expected<std::unique_ptr<LiveStreams>, Error> open(
        const std::vector<std::string>& paths, std::size_t ring_bytes = std::size_t{4} << 20);
    ~LiveStreams();  // stops and joins the readers
    LiveStreams(const LiveStreams&) = delete;
    LiveStreams& operator=(const LiveStreams&) = delete;

    void start();
    // Prompt: wakes readers blocked on quiet writers or on a full ring, and wait().
    void stop();
    void join();

    std::size_t size() const;
    const std::string& path(std::size_t i) const;
    // A regular file never waits for its writer: the merge need not give up on it.
    bool can_stall(std::size_t i) const;

    // Ingest side. Copies stream i's info into `out` when its version differs; true if it did.
    bool info(std::size_t i, Info& out) const;
    // Up to `max` frames waiting in stream i, oldest first, into `out` (cleared; its capacity
    // is reused); their bytes stay valid until release(i).
    void take(std::size_t i, std::size_t max, std::vector<Item>& out);
    // Frees what the last take(i) returned.
    void release(std::size_t i);
    // Waits until a frame or a change arrived since the last take()/info() calls, stop(), or
    // `deadline`.
    void wait(std::chrono::steady_clock::time_point deadline);

    struct Impl;

private:
    explicit LiveStreams(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

const char* state_name(LiveStreams::State s);

}  // namespace podtrace::probes
