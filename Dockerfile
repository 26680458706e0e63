# railcheck's image: the agent and coordinator of charts/rdma-tools, and the ad hoc commands
# (railcheck topo / check / lat / bw) for `kubectl exec`.
#   docker build -t REGISTRY/railcheck/railcheck:0.1.0 .
# The build stage compiles with Debian 12's packages (scripts/install-deps --build); the
# runtime stage installs only the shared libraries the binary needs and the rdma-core
# providers libibverbs loads at run time (mlx5, ...): no compiler, no headers.
# tests/chart/dockerfile_test.sh keeps this file honest: what it copies exists, and the
# runtime packages provide every library `ldd` finds in a build of the binary.
# GPUDirect is built in: railcheck loads the driver's libcuda.so.1 at run time (no CUDA toolkit to
# build, nothing of CUDA linked or installed here); in a GPU pod the NVIDIA container toolkit mounts it.
ARG DEBIAN_IMAGE=debian:12-slim

FROM ${DEBIAN_IMAGE} AS build
COPY scripts/install-deps /src/scripts/install-deps
RUN /src/scripts/install-deps --build && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DRAILCHECK_BUILD_TESTS=OFF -DRAILCHECK_BUILD_BENCH=OFF \
 && cmake --build /build --target railcheck \
 && mkdir -p /out \
 && strip -o /out/railcheck /build/bin/railcheck \
 && /out/railcheck version

FROM ${DEBIAN_IMAGE} AS runtime
# Runtime packages: the libraries of `ldd railcheck`, the verbs providers, and iproute2
# (`ip`, `rdma`) and ibverbs-utils (`ibv_devinfo`) for looking around in a pod.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libibverbs1 ibverbs-providers librdmacm1 libhwloc15 libmnl0 libspdlog1.10 libfmt9 libcpp-httplib0.11 \
      iproute2 ibverbs-utils \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin railcheck
COPY --from=build /out/railcheck /usr/local/bin/railcheck
# Non-root by default. The chart runs the agent as root with only IPC_LOCK (Kubernetes gives a
# non-root user no capabilities, and pinning RDMA buffers needs it); the coordinator as 10001.
USER 10001:10001
ENTRYPOINT ["railcheck"]
CMD ["version"]
