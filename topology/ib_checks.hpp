#pragma once
// The InfiniBand setup checks, as the ib-kubernetes flow of the seed guide needs them:
// ib-kubernetes allocates a GUID for each IB-SR-IOV network of a pod from its pool
// (GUID_POOL_RANGE_START..END), adds it to the network's pkey at the subnet manager and writes
// both into the pod's `k8s.v1.cni.cncf.io/networks` cni-args; ib-sriov-cni then sets the VF's
// node and port GUID to it. From inside the pod that shows as the port's GID 0 (subnet prefix +
// port GUID), the device's node_guid and the port's pkey table, all in sysfs.
//
// Like topology/checks.hpp, every check takes the rail map and plain facts only.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "topology/checks.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::topology {

// The kernel keeps at most this many pkeys per node for SR-IOV VFs (ib-kubernetes' and
// Spiderpool's documented limit); the pkey check warns from kPkeyWarnAt on.
inline constexpr uint32_t kNodePkeyLimit = 128;
inline constexpr uint32_t kPkeyWarnAt = kNodePkeyLimit - kNodePkeyLimit / 8;  // 112
inline constexpr uint16_t kPkeyFullMember = 0x8000;

// A 64-bit GUID from "02:00:00:00:00:00:00:01" (ib-kubernetes, `ip link`), "0200:0000:0000:0001"
// (sysfs node_guid) or "0x0200000000000001"; Errc::kInvalidArgument names the text.
Result<uint64_t> parse_guid(std::string_view text);
// As ib-kubernetes writes them: "02:00:00:00:00:00:00:01".
std::string format_guid(uint64_t guid);

// ib-kubernetes' GUID pool, both ends included.
struct GuidPool {
  uint64_t first = 0;
  uint64_t last = 0;
  [[nodiscard]] bool contains(uint64_t guid) const noexcept { return guid >= first && guid <= last; }
};
// "START-END" (each a GUID as parse_guid reads it); an empty or reversed range is an error.
Result<GuidPool> parse_guid_pool(std::string_view text);

// A pkey as ib-kubernetes reads one: "0x" and up to four hex digits. The full-member bit
// (0x8000) may be given; the checks compare the low 15 bits.
Result<uint16_t> parse_pkey(std::string_view text);

struct IbFacts {
  std::optional<GuidPool> guid_pool;  // --guid-pool; nullopt: the GUID is checked for being set only
  std::optional<uint16_t> pkey;       // --pkey: used where the network's cni-args name none
};

// ib_guid, one per InfiniBand interface (one waived result when there is none): the port GUID
// is known, not 0 nor all ones, equals the GUID the networks annotation's cni-args give, and
// lies inside the pool.
std::vector<CheckResult> check_ib_guid(const RailMap& map, const IbFacts& facts);

// ib_pkey, one per InfiniBand interface: the network's pkey (cni-args "pkey", else --pkey) is
// in the port's pkey table as a full member (limited: warn; absent: fail); waived without a
// pkey to look for. And ib_pkey_table, one per InfiniBand interface: kPkeyWarnAt or more
// pkeys in the table warns (the node's limit is kNodePkeyLimit). Without IB: one waived ib_pkey.
std::vector<CheckResult> check_ib_pkey(const RailMap& map, const IbFacts& facts);

}  // namespace railcheck::topology
