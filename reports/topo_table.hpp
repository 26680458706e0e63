#pragma once
// The rail map as the text an operator reads (`railcheck topo`): one row per interface
// (IFACE NETWORK IP RDMA PORT STATE LINK MTU RATE PCI PF NUMA NEAREST-GPU CLASS), then each GPU
// with its nearest rail, then the notes. Columns are as wide as their widest cell; "-" is unknown.

#include <string>

#include "topology/rail_map.hpp"

namespace railcheck::reports {

std::string topo_table(const topology::RailMap& map);

}  // namespace railcheck::reports
