#pragma once
// Link listing and link events from rtnetlink (libnl-3), for LiveSource.
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

struct nl_sock;

namespace podtrace::probes {

struct WatchedLink {
    std::string name;
    int ifindex = 0;
    bool up = false;
};

struct LinkEvent {
    enum class Kind : unsigned char { added, removed, resync } kind = Kind::added;
    WatchedLink link;  // empty for resync: events were lost, list the links again
};

class LinkWatch {
public:
    // Subscribes to RTNLGRP_LINK before anything is listed, so no link falls between the two.
    static std::expected<LinkWatch, Error> open();
    LinkWatch(LinkWatch&&) noexcept;
    LinkWatch& operator=(LinkWatch&&) noexcept;
    ~LinkWatch();

    int fd() const;
    // Reads what the socket holds without blocking and calls `on` per event.
    void read_events(const std::function<void(const LinkEvent&)>& on);

    std::expected<std::vector<WatchedLink>, Error> links() const;
    // The output interface of the IPv4 default route in the main table; "" when there is none.
    std::expected<std::string, Error> default_route_interface() const;

private:
    struct SockDeleter {
        void operator()(nl_sock* s) const;
    };
    using Sock = std::unique_ptr<nl_sock, SockDeleter>;
    LinkWatch(Sock events, Sock query);
    Sock events_;
    Sock query_;  // dumps: kept apart so their replies do not mix with the events
};

}  // namespace podtrace::probes
