# podtrace container image: docker build -t podtrace . (or podman build)
#   docker run --rm podtrace report /usr/share/podtrace/examples/ipip/k8s-w1.pcapng
# Live capture needs the node's network: --net=host --cap-add NET_RAW --cap-add NET_ADMIN.

FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
# What building the podtrace binary needs: scripts/install-deps without the test and lab tools.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      build-essential cmake pkg-config \
      libpcap-dev libtins-dev libncurses-dev \
      libnl-3-dev libnl-route-3-dev libnl-nf-3-dev libnftables-dev \
      libcli11-dev nlohmann-json3-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
      -DPODTRACE_BUILD_TESTS=OFF -DPODTRACE_BUILD_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" --target podtrace \
 && DESTDIR=/out cmake --install /build --component podtrace --strip

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# The libraries podtrace links (readelf -d: NEEDED); libc, libstdc++ and libgcc are in the base.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      libpcap0.8 libtins4.0 libnl-3-200 libnl-route-3-200 libnl-nf-3-200 \
      libnftables1 libncursesw6 libtinfo6 libssl3 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
COPY --from=build /out/ /
WORKDIR /usr/share/podtrace/examples
ENTRYPOINT ["podtrace"]
CMD ["--help"]
