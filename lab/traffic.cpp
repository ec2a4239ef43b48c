#include "lab/traffic.hpp"

#include <arpa/inet.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <random>
#include <system_error>
#include <utility>
#include <vector>

#include "lab/netns.hpp"

namespace podtrace::lab {
namespace {

using Clock = std::chrono::steady_clock;
using process::Fd;

std::unexpected<Error> failed(const std::string& what) {
    return std::unexpected(Error{what});
}

std::expected<in_addr, Error> parse_ipv4(const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1)
        return failed("not a numeric IPv4 address: \"" + s + "\"");
    return a;
}

sockaddr_in endpoint(in_addr a, int port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    sa.sin_addr = a;
    return sa;
}

// strerror as a result reads: "connection refused".
std::string describe(int e) {
    std::string s = std::strerror(e);
    if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
    return s;
}

std::expected<Fd, Error> socket_in(const std::string& netns, int type, int protocol) {
    auto scope = NetnsScope::enter(netns);
    if (!scope) return std::unexpected(scope.error());
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, protocol);
    if (fd < 0) return failed("cannot open a socket in " + netns + ": " + std::strerror(errno));
    return Fd(fd);
}

std::expected<void, Error> set_int(int fd, int level, int name, int value, const char* what) {
    if (setsockopt(fd, level, name, &value, sizeof value) != 0)
        return failed(std::string("setsockopt ") + what + ": " + std::strerror(errno));
    return {};
}

// Milliseconds to wait for poll() until `t`, rounded up so that waking never precedes it.
int ms_until(Clock::time_point t) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(t - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

// poll() for one fd until `deadline`; the revents, or 0 once the deadline has passed.
short wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        int n = poll(&p, 1, ms_until(deadline));
        if (n > 0) return p.revents;
        if (n < 0 && errno != EINTR) return POLLERR;
        if (n == 0 && Clock::now() >= deadline) return 0;
    }
}

std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

std::uint16_t internet_checksum(const std::vector<unsigned char>& b) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < b.size(); i += 2) sum += be16(&b[i]);
    if (b.size() % 2) sum += static_cast<std::uint32_t>(b.back()) << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

// A raw ICMP socket sees every echo reply in its namespace: concurrent pings there need
// distinct identifiers.
std::uint16_t next_echo_id() {
    static std::atomic<unsigned> next{std::random_device{}()};
    return static_cast<std::uint16_t>(next.fetch_add(1));
}

constexpr std::uint8_t kEchoReply = 0, kDestUnreachable = 3, kEchoRequest = 8;
constexpr std::uint8_t kFragNeeded = 4;

}  // namespace

std::expected<PingResult, Error> ping(const std::string& netns, const std::string& dst, int count,
                                      int payload, bool df, std::chrono::milliseconds interval,
                                      std::chrono::milliseconds timeout) {
    const auto parsed = parse_ipv4(dst);
    if (!parsed) return std::unexpected(parsed.error());
    const in_addr to = *parsed;
    if (count < 1 || count > 65536) return failed("ping: count must be 1..65536");
    if (payload < 0 || payload > 65507) return failed("ping: payload must be 0..65507 bytes");
    if (interval.count() < 0 || timeout.count() < 0)
        return failed("ping: interval and timeout must not be negative");

    auto socket = socket_in(netns, SOCK_RAW, IPPROTO_ICMP);
    if (!socket) return std::unexpected(socket.error());
    Fd fd = std::move(*socket);
    // Only replies and unreachables: the socket would otherwise also see every request.
    icmp_filter filter{~((1u << kEchoReply) | (1u << kDestUnreachable))};
    if (setsockopt(fd.get(), SOL_RAW, ICMP_FILTER, &filter, sizeof filter) != 0)
        return failed(std::string("setsockopt ICMP_FILTER: ") + std::strerror(errno));
    if (auto set = set_int(fd.get(), IPPROTO_IP, IP_MTU_DISCOVER,
                           df ? IP_PMTUDISC_PROBE : IP_PMTUDISC_DONT, "IP_MTU_DISCOVER");
        !set)
        return std::unexpected(set.error());

    const std::uint16_t id = next_echo_id();
    const sockaddr_in sa = endpoint(to, 0);
    std::vector<unsigned char> request(8 + static_cast<std::size_t>(payload));
    for (std::size_t i = 8; i < request.size(); ++i) request[i] = static_cast<unsigned char>(i);
    request[0] = kEchoRequest;
    request[4] = static_cast<unsigned char>(id >> 8);
    request[5] = static_cast<unsigned char>(id);

    PingResult r;
    std::vector<bool> answered(static_cast<std::size_t>(count));
    int answers = 0;
    // The first answer for each request counts, so received + frag_needed + unreachable <= sent.
    auto answer = [&](std::uint16_t seq) {
        if (seq >= r.sent || answered[seq]) return false;
        answered[seq] = true;
        ++answers;
        return true;
    };
    auto take = [&](const unsigned char* p, std::size_t n) {
        std::size_t ihl = n >= 20 ? static_cast<std::size_t>(p[0] & 0x0f) * 4 : 0;
        if (ihl < 20 || n < ihl + 8) return;
        const unsigned char* icmp = p + ihl;
        std::size_t len = n - ihl;
        if (icmp[0] == kEchoReply) {
            if (std::memcmp(p + 12, &to, 4) == 0 && be16(icmp + 4) == id && answer(be16(icmp + 6)))
                ++r.received;
            return;
        }
        // An unreachable quotes our request's IP header and at least its first 8 bytes.
        const unsigned char* q = icmp + 8;
        std::size_t qihl = len >= 8 + 20 ? static_cast<std::size_t>(q[0] & 0x0f) * 4 : 0;
        if (qihl < 20 || len < 8 + qihl + 8) return;
        if (q[9] != IPPROTO_ICMP || std::memcmp(q + 16, &to, 4) != 0) return;
        const unsigned char* qicmp = q + qihl;
        if (qicmp[0] != kEchoRequest || be16(qicmp + 4) != id || !answer(be16(qicmp + 6))) return;
        if (icmp[1] == kFragNeeded) {
            ++r.frag_needed;
            int mtu = be16(icmp + 6);
            if (mtu > 0 && (r.reported_mtu == 0 || mtu < r.reported_mtu)) r.reported_mtu = mtu;
        } else {
            ++r.unreachable;
        }
    };

    const auto start = Clock::now();
    auto last_sent = start;
    int next_seq = 0;
    bool sending = true;
    std::vector<unsigned char> buf(65536);
    for (;;) {
        const auto now = Clock::now();
        if (sending && now >= start + next_seq * interval) {
            request[2] = request[3] = 0;
            request[6] = static_cast<unsigned char>(next_seq >> 8);
            request[7] = static_cast<unsigned char>(next_seq);
            std::uint16_t sum = internet_checksum(request);
            request[2] = static_cast<unsigned char>(sum >> 8);
            request[3] = static_cast<unsigned char>(sum);
            if (sendto(fd.get(), request.data(), request.size(), 0,
                       reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) {
                r.error = describe(errno);  // EMSGSIZE: above the sending interface's MTU
                sending = false;
            } else {
                ++r.sent;
                last_sent = now;
                sending = ++next_seq < count;
            }
            continue;
        }
        if (!sending && (answers == r.sent || now >= last_sent + timeout)) break;
        const auto until = sending ? start + next_seq * interval : last_sent + timeout;
        if (!(wait_for(fd.get(), POLLIN, until) & POLLIN)) continue;
        ssize_t n;
        while ((n = recv(fd.get(), buf.data(), buf.size(), MSG_DONTWAIT)) >= 0)
            take(buf.data(), static_cast<std::size_t>(n));
    }
    return r;
}

namespace {

constexpr std::size_t kMaxConnections = 512;
constexpr std::size_t kMaxRequestHead = 16384;
constexpr auto kIdleTimeout = std::chrono::seconds(10);

struct Connection {
    Fd fd;
    std::string in;
    std::string out;  // the part of the response still to send
    bool answered = false;
    bool fin_sent = false;
    bool fin_received = false;
    Clock::time_point deadline;
};

bool request_complete(const std::string& in) {
    return in.find("\r\n\r\n") != std::string::npos || in.find("\n\n") != std::string::npos ||
           in.size() >= kMaxRequestHead;
}

}  // namespace

std::expected<std::unique_ptr<HttpServer>, Error> HttpServer::start(const std::string& netns,
                                                                    const std::string& addr,
                                                                    int port) {
    const auto a = parse_ipv4(addr);
    if (!a) return std::unexpected(a.error());
    if (port < 1 || port > 65535) return failed("HTTP server: port must be 1..65535");
    auto listener = socket_in(netns, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (!listener) return std::unexpected(listener.error());
    // Scenarios restart servers on the same port while earlier connections sit in TIME_WAIT.
    if (auto set = set_int(listener->get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"); !set)
        return std::unexpected(set.error());
    const sockaddr_in sa = endpoint(*a, port);
    if (bind(listener->get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 ||
        listen(listener->get(), SOMAXCONN) != 0)
        return failed("HTTP server on " + addr + ":" + std::to_string(port) + " in " + netns +
                      ": " + std::strerror(errno));
    Fd stop(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (stop.get() < 0) return failed(std::string("eventfd: ") + std::strerror(errno));
    std::unique_ptr<HttpServer> server(
        new HttpServer(netns, std::move(*listener), std::move(stop)));
    try {
        server->thread_ = std::thread([s = server.get()] { s->serve(); });
    } catch (const std::system_error& e) {
        return failed(e.what());
    }
    return server;
}

HttpServer::HttpServer(const std::string& netns, Fd listener, Fd stop)
    : listen_fd_(std::move(listener)), stop_fd_(std::move(stop)) {
    const std::string body = "podtrace lab " + netns + "\n";
    response_ = "HTTP/1.0 200 OK\r\nServer: podtrace-lab\r\nContent-Type: text/plain\r\n"
            "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
            body;
}

HttpServer::~HttpServer() {
    std::uint64_t one = 1;
    (void)!write(stop_fd_.get(), &one, sizeof one);
    if (thread_.joinable()) thread_.join();
}

void HttpServer::serve() {
    std::vector<Connection> conns;
    std::vector<pollfd> pfds;
    char buf[4096];
    for (;;) {
        pfds.clear();
        pfds.push_back({stop_fd_.get(), POLLIN, 0});
        pfds.push_back(
            {listen_fd_.get(), static_cast<short>(conns.size() < kMaxConnections ? POLLIN : 0), 0});
        auto wake = Clock::now() + kIdleTimeout;
        for (const auto& c : conns) {
            // Once the client's FIN is in, POLLIN would hold: only wait to write.
            short events = static_cast<short>((c.fin_received ? 0 : POLLIN) |
                                              (c.out.empty() ? 0 : POLLOUT));
            pfds.push_back({c.fd.get(), events, 0});
            wake = std::min(wake, c.deadline);
        }
        if (poll(pfds.data(), pfds.size(), ms_until(wake)) < 0 && errno != EINTR) return;
        if (pfds[0].revents) return;

        const auto now = Clock::now();
        for (std::size_t i = 0; i < conns.size(); ++i) {
            Connection& c = conns[i];
            const short ev = pfds[i + 2].revents;
            if (ev & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n;
                while ((n = recv(c.fd.get(), buf, sizeof buf, 0)) > 0) {
                    c.deadline = now + kIdleTimeout;
                    // After the request, only the client's FIN is of interest.
                    if (!c.answered) c.in.append(buf, static_cast<std::size_t>(n));
                }
                if (n == 0) {
                    c.fin_received = true;
                } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    c.fd.reset();
                    continue;
                }
                if (!c.answered && request_complete(c.in)) {
                    c.answered = true;
                    c.out = response_;
                    c.in.clear();
                }
            }
            if (!c.out.empty()) {
                ssize_t n = send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    c.fd.reset();
                    continue;
                }
                if (n > 0) {
                    c.out.erase(0, static_cast<std::size_t>(n));
                    c.deadline = now + kIdleTimeout;
                    if (c.out.empty()) ++requests_;
                }
            }
            // HTTP/1.0: the server ends the response with its FIN, then waits for the client's,
            // so both directions close normally instead of by reset.
            if (c.answered && c.out.empty() && !c.fin_sent) {
                shutdown(c.fd.get(), SHUT_WR);
                c.fin_sent = true;
            }
            if ((c.fin_received && (c.fin_sent || !c.answered)) || now >= c.deadline) c.fd.reset();
        }
        std::erase_if(conns, [](const Connection& c) { return c.fd.get() < 0; });

        if (pfds[1].revents & POLLIN) {
            while (conns.size() < kMaxConnections) {
                int fd = accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0) {
                    if (errno == EINTR || errno == ECONNABORTED) continue;
                    break;
                }
                conns.push_back(Connection{Fd(fd), {}, {}, false, false, false, now + kIdleTimeout});
            }
        }
    }
}

std::expected<HttpResult, Error> http_get(const std::string& netns, const std::string& dst,
                                          int port, const std::string& path,
                                          std::chrono::milliseconds timeout) {
    const auto a = parse_ipv4(dst);
    if (!a) return std::unexpected(a.error());
    if (port < 1 || port > 65535) return failed("http_get: port must be 1..65535");
    if (path.empty() || path[0] != '/' || path.find_first_of(" \r\n") != std::string::npos)
        return failed("http_get: path must start with / and hold no spaces or line breaks");

    auto socket = socket_in(netns, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (!socket) return std::unexpected(socket.error());
    Fd fd = std::move(*socket);
    const auto deadline = Clock::now() + timeout;
    HttpResult r;
    const sockaddr_in sa = endpoint(*a, port);
    if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        if (errno != EINPROGRESS) {
            r.error = describe(errno);
            return r;
        }
        if (!wait_for(fd.get(), POLLOUT, deadline)) {
            r.error = describe(ETIMEDOUT);
            return r;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err != 0) {
            r.error = describe(err);
            return r;
        }
    }
    r.connected = true;

    std::string out = "GET " + path + " HTTP/1.0\r\nHost: " + dst + ":" + std::to_string(port) +
                      "\r\nUser-Agent: podtrace-lab\r\n\r\n";
    while (!out.empty()) {
        ssize_t n = send(fd.get(), out.data(), out.size(), MSG_NOSIGNAL);
        if (n > 0) {
            out.erase(0, static_cast<std::size_t>(n));
        } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (!wait_for(fd.get(), POLLOUT, deadline)) {
                r.error = "timed out sending the request";
                return r;
            }
        } else {
            r.error = describe(errno);
            return r;
        }
    }

    // HTTP/1.0 without keep-alive: the response ends with the server's FIN.
    std::string in;
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
        if (n > 0) {
            in.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
            break;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (!wait_for(fd.get(), POLLIN, deadline)) {
                r.error = "timed out waiting for the response";
                break;
            }
        } else {
            r.error = describe(errno);
            break;
        }
    }

    std::size_t head_end = in.find("\r\n\r\n");
    std::size_t sep = 4;
    if (head_end == std::string::npos) {
        head_end = in.find("\n\n");
        sep = 2;
    }
    int status = 0;
    const std::size_t sp = in.find(' ');
    if (in.starts_with("HTTP/") && sp != std::string::npos && sp + 4 <= in.size()) {
        const char* code = in.data() + sp + 1;
        if (std::from_chars(code, code + 3, status).ptr != code + 3) status = 0;
    }
    if (head_end == std::string::npos || status == 0) {
        if (r.error.empty())
            r.error = in.empty() ? "connection closed without a response" : "malformed response";
        return r;
    }
    r.status = status;
    r.body_bytes = in.size() - head_end - sep;
    return r;
}

}  // namespace podtrace::lab
