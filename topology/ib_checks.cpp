#include "topology/ib_checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace railcheck::topology {
namespace {

constexpr const char* kGuidFix =
    "ib-kubernetes allocates the GUID (cni-args \"guid\", mellanox.infiniband.app=configured) and ib-sriov-cni "
    "sets it on the VF: check both, and that the network's config has the ib-kubernetes integration enabled";

CheckResult make(const char* name, Verdict verdict, const std::string& subject, std::string reason,
                 std::string fix = {}) {
  return CheckResult{.name = name, .verdict = verdict, .subject = subject, .reason = std::move(reason),
                     .fix = std::move(fix)};
}

bool infiniband(const RailPort& p) { return p.link_layer == "InfiniBand"; }

std::string where(const RailPort& p) {
  return fmt::format("{} port {}", p.rdma_device.value_or("the RDMA device"), p.port.value_or(1));
}

std::string pkey_text(uint16_t pkey) { return fmt::format("{:#06x}", pkey); }

// The table's pkeys for a reason text: the first eight, then how many in all.
std::string pkey_list(const std::vector<uint16_t>& pkeys) {
  constexpr size_t kShown = 8;
  std::string out;
  for (size_t i = 0; i < pkeys.size() && i < kShown; ++i) out += (out.empty() ? "" : ", ") + pkey_text(pkeys[i]);
  if (pkeys.size() > kShown) out += fmt::format(", ... ({} in all)", pkeys.size());
  return out.empty() ? "no pkey" : out;
}

// The pkey to look for on this port and where it came from; nullopt (with the reason) when
// none is configured, or an error text when the annotation's is not a pkey.
struct WantedPkey {
  std::optional<uint16_t> pkey;
  std::string source;  // "the network's cni-args" / "--pkey"
  std::string error;   // non-empty: the cni-args value is not a pkey
};

WantedPkey wanted_pkey(const RailPort& p, const IbFacts& facts) {
  if (p.requested_pkey) {
    auto pkey = parse_pkey(*p.requested_pkey);
    if (!pkey) return WantedPkey{.pkey = std::nullopt, .source = {}, .error = pkey.error().what};
    return WantedPkey{.pkey = *pkey, .source = "the network's cni-args", .error = {}};
  }
  if (facts.pkey) return WantedPkey{.pkey = *facts.pkey, .source = "--pkey", .error = {}};
  return WantedPkey{};
}

}  // namespace

Result<uint64_t> parse_guid(std::string_view text) {
  const std::string shown(text);
  auto bad = [&] {
    return fail(Errc::kInvalidArgument, fmt::format("'{}' is not a GUID", shown),
                "expected 8 bytes: 02:00:00:00:00:00:00:01, 0200:0000:0000:0001 or 0x0200000000000001");
  };
  if (text.starts_with("0x") || text.starts_with("0X")) {
    text.remove_prefix(2);
    if (text.find(':') != std::string_view::npos) return bad();
  }
  // Colons, if any, split the 16 digits into groups of equal size: 2 (bytes) or 4 (sysfs).
  std::string hex;
  size_t group = 0;
  size_t group_size = 0;
  for (char c : text) {
    if (c == ':') {
      if (group == 0 || (group_size != 0 && group != group_size)) return bad();
      group_size = group;
      group = 0;
      continue;
    }
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return bad();
    hex += c;
    ++group;
  }
  if (hex.size() != 16 || (group_size != 0 && (group != group_size || (group_size != 2 && group_size != 4)))) {
    return bad();
  }
  uint64_t guid = 0;
  std::from_chars(hex.data(), hex.data() + hex.size(), guid, 16);
  return guid;
}

std::string format_guid(uint64_t guid) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) {
    out += fmt::format("{}{:02x}", out.empty() ? "" : ":", (guid >> shift) & 0xff);
  }
  return out;
}

Result<GuidPool> parse_guid_pool(std::string_view text) {
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos || text.find('-', dash + 1) != std::string_view::npos) {
    return fail(Errc::kInvalidArgument, fmt::format("GUID pool '{}' is not START-END", text),
                "e.g. 02:00:00:00:00:00:00:00-02:FF:FF:FF:FF:FF:FF:FF, as ib-kubernetes' GUID_POOL_RANGE_START/END");
  }
  auto first = parse_guid(text.substr(0, dash));
  if (!first) return std::unexpected(std::move(first.error()));
  auto last = parse_guid(text.substr(dash + 1));
  if (!last) return std::unexpected(std::move(last.error()));
  if (*first > *last) {
    return fail(Errc::kInvalidArgument, fmt::format("GUID pool '{}': the start is after the end", text));
  }
  return GuidPool{.first = *first, .last = *last};
}

Result<uint16_t> parse_pkey(std::string_view text) {
  const std::string shown(text);
  if (!text.starts_with("0x") && !text.starts_with("0X")) {
    return fail(Errc::kInvalidArgument, fmt::format("pkey '{}' must be hex with a leading 0x", shown),
                "as ib-kubernetes reads it, e.g. 0x6 or 0x7fff");
  }
  text.remove_prefix(2);
  uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (text.empty() || text.size() > 4 || ec != std::errc{} || end != text.data() + text.size()) {
    return fail(Errc::kInvalidArgument, fmt::format("pkey '{}' is not 0x and 1 to 4 hex digits", shown));
  }
  if ((value & 0x7fff) == 0) {
    return fail(Errc::kInvalidArgument, fmt::format("pkey '{}' is invalid: its low 15 bits are 0", shown));
  }
  return static_cast<uint16_t>(value);
}

std::vector<CheckResult> check_ib_guid(const RailMap& map, const IbFacts& facts) {
  constexpr const char* kName = "ib_guid";
  std::vector<CheckResult> out;
  const std::string pool_text =
      facts.guid_pool ? fmt::format("{}-{}", format_guid(facts.guid_pool->first), format_guid(facts.guid_pool->last))
                      : "";
  for (const RailPort& p : map.ports) {
    if (!infiniband(p)) continue;
    if (!p.port_guid) {
      out.push_back(make(kName, Verdict::kFail, p.interface, where(p) + ": port GUID unknown (no GID 0 in sysfs)",
                         "check /sys/class/infiniband/" + p.rdma_device.value_or("DEV") + "/ports/1/gids/0"));
      continue;
    }
    const uint64_t guid = *p.port_guid;
    const std::string text = format_guid(guid);
    if (guid == 0 || guid == ~uint64_t{0}) {
      out.push_back(make(kName, Verdict::kFail, p.interface,
                         fmt::format("{}: port GUID {} is a placeholder: no GUID was set on the VF", where(p), text),
                         kGuidFix));
      continue;
    }
    if (p.requested_guid) {
      auto want = parse_guid(*p.requested_guid);
      if (!want) {
        out.push_back(make(kName, Verdict::kFail, p.interface,
                           fmt::format("the networks annotation's cni-args guid: {}", want.error().what), kGuidFix));
        continue;
      }
      if (*want != guid) {
        out.push_back(make(kName, Verdict::kFail, p.interface,
                           fmt::format("{}: port GUID {} is not the GUID ib-kubernetes allocated ({})", where(p),
                                       text, format_guid(*want)),
                           kGuidFix));
        continue;
      }
    }
    if (facts.guid_pool && !facts.guid_pool->contains(guid)) {
      out.push_back(make(kName, Verdict::kFail, p.interface,
                         fmt::format("{}: port GUID {} is outside the GUID pool {}", where(p), text, pool_text),
                         "the VF's GUID must come from ib-kubernetes' pool (GUID_POOL_RANGE_START/END) so the subnet "
                         "manager's partition holds it: check --guid-pool and the VF's GUID"));
      continue;
    }
    std::string reason = fmt::format("{}: port GUID {}", where(p), text);
    if (p.requested_guid) reason += ", as allocated";
    reason += facts.guid_pool ? ", in the pool " + pool_text : " (no --guid-pool: not checked against a pool)";
    if (p.node_guid && *p.node_guid != guid) {
      reason += fmt::format("; node GUID {} differs (ib-sriov-cni sets both)", format_guid(*p.node_guid));
    }
    out.push_back(make(kName, Verdict::kPass, p.interface, std::move(reason)));
  }
  if (out.empty()) out.push_back(make(kName, Verdict::kWaived, "", "no InfiniBand rail"));
  return out;
}

std::vector<CheckResult> check_ib_pkey(const RailMap& map, const IbFacts& facts) {
  std::vector<CheckResult> out;
  for (const RailPort& p : map.ports) {
    if (!infiniband(p)) continue;
    const WantedPkey want = wanted_pkey(p, facts);
    if (!want.error.empty()) {
      out.push_back(make("ib_pkey", Verdict::kFail, p.interface,
                         "the networks annotation's cni-args pkey: " + want.error,
                         "fix the network's pkey in its NetworkAttachmentDefinition (ib-kubernetes copies it)"));
    } else if (!want.pkey) {
      out.push_back(make("ib_pkey", Verdict::kWaived, p.interface,
                         "no pkey configured (none in the network's cni-args, no --pkey)"));
    } else {
      const uint16_t base = *want.pkey & 0x7fff;
      auto it = std::ranges::find_if(p.pkeys, [&](uint16_t k) { return (k & 0x7fff) == base; });
      const std::string what = fmt::format("pkey {} (from {})", pkey_text(base), want.source);
      if (it == p.pkeys.end()) {
        out.push_back(make("ib_pkey", Verdict::kFail, p.interface,
                           fmt::format("{} is not in {}'s pkey table ({})", what, where(p), pkey_list(p.pkeys)),
                           "the subnet manager must add the VF's GUID to the partition: ib-kubernetes does it through "
                           "its SM plugin (UFM): check its logs; with OpenSM, partitions.conf"));
      } else if ((*it & kPkeyFullMember) == 0) {
        out.push_back(make("ib_pkey", Verdict::kWarn, p.interface,
                           fmt::format("{} is in {}'s table as a limited member ({}): limited members cannot talk to "
                                       "each other",
                                       what, where(p), pkey_text(*it)),
                           "make the pod's GUID a full member of the partition at the subnet manager"));
      } else {
        out.push_back(make("ib_pkey", Verdict::kPass, p.interface,
                           fmt::format("{} is in {}'s table, full member", what, where(p))));
      }
    }
    const auto used = static_cast<uint32_t>(p.pkeys.size());
    const std::string size =
        fmt::format("{} of {} pkey table entries in use (the kernel allows {} pkeys per node)", used,
                    p.pkey_table_size, kNodePkeyLimit);
    if (used >= kPkeyWarnAt) {
      out.push_back(make("ib_pkey_table", Verdict::kWarn, p.interface, where(p) + ": " + size,
                         "near the limit: spread the partitions over fewer pkeys or nodes before new pods fail"));
    } else {
      out.push_back(make("ib_pkey_table", Verdict::kPass, p.interface, where(p) + ": " + size));
    }
  }
  if (out.empty()) out.push_back(make("ib_pkey", Verdict::kWaived, "", "no InfiniBand rail"));
  return out;
}

}  // namespace railcheck::topology
