#pragma once
// The lab's traffic primitives: ICMP echo and an HTTP/1.0 exchange between namespaces, done
// in-process. Each socket is opened inside its namespace (NetnsScope) and stays there.
// Addresses are numeric IPv4 only: nothing here ever looks a name up.
//
// Failures of the lab itself (no such namespace, not a numeric address, no raw sockets, a port
// in use) are errors; what the network does (no reply, refused, timed out) is a result.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <expected>
#include <memory>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "process/fd.hpp"

namespace podtrace::lab {

struct PingResult {
    int sent = 0;
    int received = 0;      // echo replies, one per request at most
    int frag_needed = 0;   // ICMP "fragmentation needed" quoting one of our requests
    int reported_mtu = 0;  // the smallest next-hop MTU those reported; 0 without any
    int unreachable = 0;   // other ICMP "destination unreachable" quoting one of our requests
    std::string error;     // why sending stopped early, e.g. "message too long"; else empty
};
// ICMP echo from inside `netns` to `dst` over a raw socket: `count` requests `interval` apart,
// each with `payload` bytes of data (as ping -s). `df` sets DF and sends even above the cached
// path MTU (IP_PMTUDISC_PROBE), so the network has to answer "fragmentation needed"; without it
// the kernel fragments. Waits up to `timeout` after the last request, less once every request
// is answered.
std::expected<PingResult, Error> ping(const std::string& netns, const std::string& dst, int count,
                                      int payload, bool df, std::chrono::milliseconds interval,
                                      std::chrono::milliseconds timeout);

// A minimal HTTP/1.0 server listening in `netns` on addr:port. One poll-based thread answers
// every request with 200 and a body naming the namespace, then closes with a FIN and waits for
// the client's. Listening has begun when start() returns; the destructor stops it.
class HttpServer {
public:
    static std::expected<std::unique_ptr<HttpServer>, Error> start(const std::string& netns,
                                                                   const std::string& addr,
                                                                   int port);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    std::size_t requests() const { return requests_.load(); }  // answered so far

private:
    HttpServer(const std::string& netns, process::Fd listener, process::Fd stop);
    void serve();

    std::string response_;
    process::Fd listen_fd_;
    process::Fd stop_fd_;  // eventfd: the destructor wakes the thread through it
    std::atomic<std::size_t> requests_{0};
    std::thread thread_;
};

struct HttpResult {
    bool connected = false;
    int status = 0;  // from the status line; 0 without a response
    std::size_t body_bytes = 0;
    // Empty on a complete response; else what went wrong: "connection refused", "connection
    // timed out", "no route to host", "timed out waiting for the response", ...
    std::string error;
};
// GET `path` over HTTP/1.0 from inside `netns` to dst:port. `timeout` bounds the whole exchange,
// connect included.
std::expected<HttpResult, Error> http_get(const std::string& netns, const std::string& dst,
                                          int port, const std::string& path,
                                          std::chrono::milliseconds timeout);

}  // namespace podtrace::lab
