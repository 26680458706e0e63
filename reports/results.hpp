#pragma once
// The results of a cluster run (the coordinator's output, `railcheck report`'s input) and of
// a single ad hoc test, in one shape: a flat list of records, one per (rail, source,
// destination, test, size), plus what is known about the nodes and rails they came from.
//
// The coordinator fills records with figures (or an error) and leaves the verdicts empty;
// judge() (reports/judge.hpp) sets verdict and cause from a profile, so a saved run can be
// re-judged later. JSON schema: "railcheck.results/v1" (docs/report-schema.md). Readers
// accept any document whose schema_version has the same major version.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "verbs/ops.hpp"
#include "verbs/port_counters.hpp"

namespace railcheck::reports {

// What this railcheck writes; it reads any document of the same major version.
// v1.1: the run's "outcome" (verdict and reasons), the atomic tests (fetch_add, cmp_swap).
// v1.2: a record's port "counters" per end, and "remeasured" (the coordinator's confirmations).
inline constexpr const char* kResultsSchema = "railcheck.results/v1.2";
inline constexpr std::string_view kResultsMajor = "railcheck.results/v1";

enum class Verdict : uint8_t { kNone, kPass, kWarn, kFail, kWaived };
std::string_view to_string(Verdict v) noexcept;  // "", "pass", "warn", "fail", "waived"
Result<Verdict> parse_verdict(std::string_view text);

// One side of a pair: which node, pod and interface, and what the link is.
struct PairEnd {
  std::string node;       // Kubernetes node name ("gpu-node-3"); the pod name when unknown
  std::string pod;
  std::string interface;  // "net1"
  std::string ip;         // the rail address the test used
  std::string device;     // RDMA device, "mlx5_3"
  std::string gid;        // the GID the test used ("::ffff:10.0.1.11"); empty: unknown
  std::string pci_address;                 // the VF
  std::string link_layer;                  // "Ethernet" | "InfiniBand"; empty: unknown
  std::optional<uint32_t> active_mtu;      // bytes
  std::optional<double> rate_gbps;         // the port's rate
  std::string mem = "host";                // memory the test used on this side: host | cuda
  std::optional<int> gpu;                  // the GPU used (cuda), else the nearest one
  std::string gpu_pci_address;
  std::string gpu_class;                   // PIX | PXB | PHB | NODE | SYS; empty: unknown
  std::string mem_registration;            // how the buffer was registered: ibv_reg_mr | dmabuf | peermem
  std::string mem_note;                    // GPU: why the other registration path was not used
  // How the engine ran on this end (v1.1; absent: not recorded).
  std::optional<int> cpu;                  // the CPU the test ran on
  std::optional<int> numa_node;            // the NIC's NUMA node, where host buffers were placed
  std::string placement_note;              // why the CPU was shared or not NIC-local
  std::optional<bool> relaxed_ordering;    // the MR had IBV_ACCESS_RELAXED_ORDERING
  std::optional<uint32_t> inline_bytes;    // the QPs' inline size
  std::string scatter_to_cqe;              // mlx5: "off" for device memory
  // What this end's own links allow (v1.2; topology/link_budget.hpp): min(port rate, the NIC's
  // PCIe link) in Gb/s per direction, and what bounds it ("mlx5_2 PCIe Gen4 x8: at most 107
  // Gb/s"); absent: unknown. A slow pair's cause names it when it is below the port rate.
  std::optional<double> budget_gbps;
  std::string budget_note;

  bool operator==(const PairEnd&) const = default;
};

struct LatencyUs {
  uint64_t count = 0;
  double min = 0, p50 = 0, p90 = 0, p99 = 0, p99_9 = 0, max = 0, mean = 0, stdev = 0;
};

struct Bandwidth {
  uint64_t messages = 0;
  double avg_gbps = 0;
  double peak_gbps = 0;
  double msg_rate_mpps = 0;
};

// The port counters that moved during a record's test, per end (verbs/port_counters.hpp): the
// ones that are not traffic, by name. An end whose counters were not read has nullopt, and
// `note` says why; an empty list: read, nothing moved.
struct RecordCounters {
  std::optional<std::vector<verbs::CounterDelta>> src, dst;
  std::string note;

  [[nodiscard]] bool empty() const noexcept { return !src && !dst && note.empty(); }
  bool operator==(const RecordCounters&) const = default;
};

struct Record {
  std::string rail;        // the rail's name (Multus network, or subnet)
  PairEnd src;             // the client: it initiates and measures
  PairEnd dst;             // the server
  verbs::TestId test;      // kind and op; JSON "test": its name ("write_lat", "fetch_add_bw")
  uint64_t size_bytes = 0;
  bool bidir = false;
  uint32_t qps = 1;
  uint64_t iters = 0;      // counted iterations (lat) or messages per QP (bw)
  double elapsed_s = 0;
  std::optional<LatencyUs> latency_us;   // latency tests
  std::optional<Bandwidth> bandwidth;    // bandwidth tests
  std::string error;       // non-empty: the test did not produce figures, and why
  uint32_t attempts = 1;   // > 1: retried
  uint32_t round = 0;      // the tournament round it ran in (1-based; 0: ad hoc)
  // Times the coordinator ran the test again to confirm a slow figure; the figures are the
  // best of all runs (a fault is slow every time, a scheduling stall is not).
  uint32_t remeasured = 0;
  RecordCounters counters;
  Verdict verdict = Verdict::kNone;
  std::string cause;       // why the verdict (empty for a plain pass)

  [[nodiscard]] bool is_latency() const noexcept { return test.latency(); }
};

// A node as the coordinator found it.
struct NodeInfo {
  std::string node;
  std::string pod;
  std::string agent;           // "10.233.0.10:7400"
  bool reachable = true;
  std::string error;           // why not reachable, or why its inventory was unusable
  nlohmann::json rail_map;     // railcheck.topo/v1 document (null when unknown)
  nlohmann::json checks;       // railcheck.check/v1 document (null when unknown)
};

struct RailMember {
  std::string node;
  std::string interface;
  std::string ip;
};

struct RailInfo {
  std::string name;
  std::string grouped_by;                // "network" (Multus network name) or "subnet"
  std::vector<RailMember> members;
  std::vector<std::string> missing_nodes;  // reachable nodes without this rail
};

struct RunMeta {
  std::string started;         // RFC 3339 UTC
  std::string finished;
  std::string railcheck_version;
  std::string git_commit;
  std::string mode = "cluster";  // "cluster" (coordinator) or "single" (railcheck lat/bw)
  std::string pattern;         // all-pairs | ring | pairs
  bool cross_rail = false;
  std::vector<std::string> tests;
  nlohmann::json spec;         // the spec options every pair ran with
  std::string connection;      // how QPs were connected: "oob" | "rdma_cm"; empty: unknown
  std::string clock;           // the timestamp source the figures came from
  std::string profile;         // the profile the verdicts came from (name or path)
};

struct Results {
  std::string schema_version = kResultsSchema;
  RunMeta meta;
  std::vector<NodeInfo> nodes;
  std::vector<RailInfo> rails;
  std::vector<Record> records;
  std::vector<std::string> notes;  // run-level messages ("agent node-3 unreachable since round 2")
};

nlohmann::json to_json(const Record& r);
nlohmann::json to_json(const Results& r);
// Reads one record (as an agent sends it); errors name the field.
Result<Record> record_from_json(const nlohmann::json& j);
// Reads a results document; errors name the JSON path of the bad field and what was expected.
Result<Results> results_from_json(const nlohmann::json& j);
Result<Results> load_results(const std::string& path);
// The same from a document's text; errors name `source` ("log.txt lines 12-4000").
Result<Results> parse_results(std::string_view text, const std::string& source);

}  // namespace railcheck::reports
