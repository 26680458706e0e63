#include "verbs/spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <type_traits>
#include <nlohmann/json.hpp>

namespace railcheck::verbs {

std::string_view to_string(TestKind kind) noexcept { return kind == TestKind::kLatency ? "lat" : "bw"; }

std::string_view to_string(Op op) noexcept {
  switch (op) {
    case Op::kWrite: return "write";
    case Op::kRead: return "read";
    case Op::kSend: return "send";
    case Op::kWriteImm: return "write_imm";
  }
  return "unknown";
}

Result<TestKind> parse_test_kind(std::string_view text) {
  if (text == "lat") return TestKind::kLatency;
  if (text == "bw") return TestKind::kBandwidth;
  return fail(Errc::kInvalidArgument, fmt::format("test \"{}\"", text), "use lat or bw");
}

Result<Op> parse_op(std::string_view text) {
  for (Op op : {Op::kWrite, Op::kRead, Op::kSend, Op::kWriteImm}) {
    if (text == to_string(op)) return op;
  }
  return fail(Errc::kInvalidArgument, fmt::format("op \"{}\"", text), "use write, read, send or write_imm");
}

uint64_t RunSpec::max_size_bytes() const noexcept {
  return sizes_bytes.empty() ? 0 : *std::ranges::max_element(sizes_bytes);
}

std::string test_name(TestKind kind, Op op) { return fmt::format("{}_{}", to_string(op), to_string(kind)); }

Result<std::pair<TestKind, Op>> parse_test_name(std::string_view name) {
  const size_t us = name.rfind('_');
  if (us != std::string_view::npos) {
    auto op = parse_op(name.substr(0, us));
    auto kind = parse_test_kind(name.substr(us + 1));
    if (op && kind) return std::pair{*kind, *op};
  }
  return fail(Errc::kInvalidArgument, fmt::format("unknown test '{}'", name),
              "tests are write_lat, read_lat, send_lat, write_imm_lat, write_bw, read_bw, send_bw, write_imm_bw");
}

RunSpec default_spec(TestKind kind, Op op) {
  const bool lat = kind == TestKind::kLatency;
  RunSpec spec;
  spec.kind = kind;
  spec.op = op;
  spec.sizes_bytes = {lat ? 2u : 65536u};
  spec.iters = lat ? 1000 : 5000;
  spec.warmup_iters = lat ? 100 : 16;
  return spec;
}

Result<std::vector<uint64_t>> parse_sizes(const std::vector<std::string>& texts) {
  std::vector<uint64_t> out;
  for (const std::string& t : texts) {
    auto bytes = parse_size(t);
    if (!bytes) return std::unexpected(bytes.error());
    out.push_back(*bytes);
  }
  return out;
}

std::vector<uint64_t> sweep_sizes() {
  std::vector<uint64_t> sizes;
  for (uint64_t s = 2; s <= (8ull << 20); s *= 2) sizes.push_back(s);
  return sizes;
}

Result<void> validate(const RunSpec& spec) {
  auto bad = [](std::string what, std::string hint) { return fail(Errc::kInvalidArgument, std::move(what), std::move(hint)); };
  if (spec.sizes_bytes.empty()) return bad("sizes: empty", "give at least one message size");
  if (spec.sizes_bytes.size() > kMaxSizes) {
    return bad(fmt::format("sizes: {} sizes", spec.sizes_bytes.size()), fmt::format("at most {}", kMaxSizes));
  }
  for (uint64_t s : spec.sizes_bytes) {
    if (s == 0 || s > kMaxMessageBytes) {
      return bad(fmt::format("size {}", s), fmt::format("must be 1 B .. {}", format_size(kMaxMessageBytes)));
    }
  }
  if (spec.duration_s < 0 || spec.duration_s > kMaxDurationS) {
    return bad(fmt::format("duration {} s", spec.duration_s), fmt::format("must be 0 < duration <= {} s", kMaxDurationS));
  }
  if (!spec.duration_mode() && (spec.iters == 0 || spec.iters > kMaxIters)) {
    return bad(fmt::format("iters {}", spec.iters), fmt::format("must be 1 .. {}", kMaxIters));
  }
  if (spec.warmup_iters > kMaxIters) {
    return bad(fmt::format("warmup iters {}", spec.warmup_iters), fmt::format("must be 0 .. {}", kMaxIters));
  }
  if (spec.qps == 0 || spec.qps > kMaxQps) {
    return bad(fmt::format("qps {}", spec.qps), fmt::format("must be 1 .. {}", kMaxQps));
  }
  if (spec.tx_depth == 0 || spec.tx_depth > kMaxTxDepth) {
    return bad(fmt::format("tx-depth {}", spec.tx_depth), fmt::format("must be 1 .. {}", kMaxTxDepth));
  }
  if (spec.kind == TestKind::kLatency && spec.qps != 1) {
    return bad(fmt::format("qps {} with a latency test", spec.qps), "latency is measured on one QP; use bw for --qps");
  }
  if (spec.kind == TestKind::kLatency && spec.bidir) {
    return bad("bidir with a latency test", "a ping-pong is already both ways; use bw for --bidir");
  }
  for (const MemorySpec* m : {&spec.mem, &spec.peer_mem}) {
    if (auto ok = parse_memory_spec(to_string(*m)); !ok || *ok != *m) {
      return bad(fmt::format("memory \"{}\"", to_string(*m)), "write KIND or KIND:ARG, e.g. host, cuda, cuda:1");
    }
  }
  if (spec.kind == TestKind::kLatency && spec.op == Op::kWrite && !(spec.mem.is_host() && spec.peer_mem.is_host())) {
    return bad(fmt::format("write latency with {} memory", spec.mem.is_host() ? spec.peer_mem.kind : spec.mem.kind),
               "a write ping-pong polls the buffer with the CPU, which cannot read GPU memory; use --op write_imm "
               "(completion on the receiver's CQ) or send");
  }
  if (spec.kind == TestKind::kLatency && spec.verify) {
    return bad("verify with a latency test", "data is checked in bandwidth tests; use bw --verify");
  }
  return {};
}

nlohmann::json to_json(const RunSpec& spec) {
  return {{"test", to_string(spec.kind)},   {"op", to_string(spec.op)},
          {"sizes", spec.sizes_bytes},      {"iters", spec.iters},
          {"duration_s", spec.duration_s},  {"warmup_iters", spec.warmup_iters},
          {"qps", spec.qps},                {"tx_depth", spec.tx_depth},
          {"bidir", spec.bidir},            {"mem", to_string(spec.mem)},
          {"peer_mem", to_string(spec.peer_mem)}, {"gpu_reg", to_string(spec.gpu_reg)},
          {"verify", spec.verify}};
}

namespace {

// Whether `v` holds a T without conversion: nlohmann would silently wrap -1 into an
// unsigned field or truncate 2.5 into an integer one.
template <class T>
bool holds(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
  else if constexpr (std::is_unsigned_v<T>) {
    return v.is_number_integer() && (v.is_number_unsigned() || v.get<int64_t>() >= 0) &&
           v.get<uint64_t>() <= std::numeric_limits<T>::max();
  }
  else if constexpr (std::is_floating_point_v<T>) return v.is_number();
  else if constexpr (std::is_same_v<T, std::string>) return v.is_string();
  else return v.is_array() && std::ranges::all_of(v, [](const nlohmann::json& e) { return holds<typename T::value_type>(e); });
}

// Reads field `key` of `j` into `out` when present; the error names the field.
template <class T>
Result<void> read_field(const nlohmann::json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!holds<T>(*it)) return fail(Errc::kInvalidArgument, fmt::format("spec.{}: {} has the wrong type", key, it->dump()));
  out = it->get<T>();
  return {};
}

}  // namespace

Result<RunSpec> spec_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail(Errc::kInvalidArgument, "spec must be a JSON object");
  static constexpr std::string_view kKnown[] = {"test",     "op",       "sizes", "iters",    "duration_s",
                                                "warmup_iters", "qps", "tx_depth", "bidir", "mem",
                                                "peer_mem", "gpu_reg", "verify"};
  for (const auto& [key, _] : j.items()) {
    if (std::ranges::find(kKnown, key) == std::end(kKnown)) {
      return fail(Errc::kInvalidArgument, fmt::format("spec.{}: unknown field", key));
    }
  }
  RunSpec spec;
  std::string test{to_string(spec.kind)}, op{to_string(spec.op)};
  std::string mem{to_string(spec.mem)}, peer_mem{to_string(spec.peer_mem)}, gpu_reg{to_string(spec.gpu_reg)};
  for (Result<void> r : {read_field(j, "test", test), read_field(j, "op", op), read_field(j, "sizes", spec.sizes_bytes),
                         read_field(j, "iters", spec.iters), read_field(j, "duration_s", spec.duration_s),
                         read_field(j, "warmup_iters", spec.warmup_iters), read_field(j, "qps", spec.qps),
                         read_field(j, "tx_depth", spec.tx_depth), read_field(j, "bidir", spec.bidir),
                         read_field(j, "mem", mem), read_field(j, "peer_mem", peer_mem),
                         read_field(j, "gpu_reg", gpu_reg), read_field(j, "verify", spec.verify)}) {
    if (!r) return std::unexpected(r.error());
  }
  auto kind = parse_test_kind(test);
  if (!kind) return std::unexpected(kind.error());
  auto parsed_op = parse_op(op);
  if (!parsed_op) return std::unexpected(parsed_op.error());
  auto parsed_mem = parse_memory_spec(mem);
  if (!parsed_mem) return std::unexpected(parsed_mem.error());
  auto parsed_peer_mem = parse_memory_spec(peer_mem);
  if (!parsed_peer_mem) return std::unexpected(parsed_peer_mem.error());
  auto parsed_reg = parse_gpu_reg(gpu_reg);
  if (!parsed_reg) return std::unexpected(parsed_reg.error());
  spec.kind = *kind;
  spec.op = *parsed_op;
  spec.mem = *parsed_mem;
  spec.peer_mem = *parsed_peer_mem;
  spec.gpu_reg = *parsed_reg;
  if (auto ok = validate(spec); !ok) return std::unexpected(ok.error());
  return spec;
}

Result<uint64_t> parse_size(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) {
    return fail(Errc::kInvalidArgument, fmt::format("size \"{}\"", text), "write bytes, or a number with K, M or G (KiB, MiB, GiB)");
  }
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  uint64_t scale = 1;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "K" || unit == "KiB" || unit == "k") scale = 1ull << 10;
  else if (unit == "M" || unit == "MiB") scale = 1ull << 20;
  else if (unit == "G" || unit == "GiB") scale = 1ull << 30;
  else return fail(Errc::kInvalidArgument, fmt::format("size \"{}\": unknown unit \"{}\"", text, unit), "use K, M or G (powers of 1024)");
  if (value > kMaxMessageBytes / scale) {
    return fail(Errc::kInvalidArgument, fmt::format("size \"{}\"", text), fmt::format("must be at most {}", format_size(kMaxMessageBytes)));
  }
  return value * scale;
}

std::string format_size(uint64_t bytes) {
  if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0) return fmt::format("{} GiB", bytes >> 30);
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (1ull << 10) && bytes % (1ull << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} B", bytes);
}

}  // namespace railcheck::verbs
