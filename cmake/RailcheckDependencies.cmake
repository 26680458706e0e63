# Every third-party dependency, found the target way. Debian 12 packages:
# libibverbs-dev librdmacm-dev libhwloc-dev libmnl-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
# libcpp-httplib-dev libgtest-dev libbenchmark-dev. No CUDA: the driver API is loaded at run time
# (gpudirect/cuda_driver.hpp); tests/gpudirect checks its declarations against /usr/local/cuda's
# cuda.h when a toolkit is there.
find_package(PkgConfig REQUIRED)
pkg_check_modules(IBVERBS REQUIRED IMPORTED_TARGET libibverbs)
pkg_check_modules(RDMACM REQUIRED IMPORTED_TARGET librdmacm)
# mlx5dv (the mlx5 provider's direct verbs, in ibverbs-providers): QPs without scatter-to-CQE
# for device memory.
pkg_check_modules(MLX5 REQUIRED IMPORTED_TARGET libmlx5)
pkg_check_modules(HWLOC REQUIRED IMPORTED_TARGET hwloc)
# libmnl: the netlink requests of the setup checks (RDMA netns mode, rules, routes), no fork.
pkg_check_modules(MNL REQUIRED IMPORTED_TARGET libmnl)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(Threads REQUIRED)
find_package(spdlog REQUIRED CONFIG)
find_package(CLI11 REQUIRED CONFIG)
find_package(nlohmann_json 3.10 REQUIRED CONFIG)
if(RAILCHECK_BUILD_TESTS)
  find_package(GTest REQUIRED CONFIG)
  include(GoogleTest)
endif()
if(RAILCHECK_BUILD_BENCH)
  find_package(benchmark REQUIRED CONFIG)
endif()
