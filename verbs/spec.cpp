#include "verbs/spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "common/json_reader.hpp"

namespace railcheck::verbs {

uint64_t RunSpec::max_size_bytes() const noexcept {
  return sizes_bytes.empty() ? 0 : *std::ranges::max_element(sizes_bytes);
}

RunSpec default_spec(TestKind kind, Op op, const BandwidthDefaults& bw) {
  RunSpec spec;
  spec.kind = kind;
  spec.op = op;
  const uint32_t fixed = op_info(op).fixed_bytes;
  if (kind == TestKind::kLatency) {
    spec.sizes_bytes = {fixed != 0 ? fixed : 2u};
    spec.iters = 1000;
    spec.warmup_iters = 100;
    return spec;
  }
  spec.sizes_bytes = {fixed != 0 ? fixed : bw.size_bytes.value_or(kBwDefaultSizeBytes)};
  spec.qps = bw.qps.value_or(kBwDefaultQps);
  spec.iters = bw.iters.value_or(5000);
  spec.duration_s = bw.iters ? 0 : kBwDefaultDurationS;
  spec.warmup_iters = 16;
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
  auto bad = [](std::string_view field, std::string what, std::string hint) {
    Error e = Error::make(Errc::kInvalidArgument, std::move(what), std::move(hint));
    e.field = std::string(field);
    return std::unexpected(std::move(e));
  };
  const OpInfo& op = op_info(spec.op);
  const bool lat = spec.kind == TestKind::kLatency;
  if (spec.sizes_bytes.empty()) return bad("sizes", "sizes: empty", "give at least one message size");
  if (spec.sizes_bytes.size() > kMaxSizes) {
    return bad("sizes", fmt::format("sizes: {} sizes", spec.sizes_bytes.size()), fmt::format("at most {}", kMaxSizes));
  }
  for (uint64_t s : spec.sizes_bytes) {
    if (s == 0 || s > kMaxMessageBytes) {
      return bad("sizes", fmt::format("size {}", s), fmt::format("must be 1 B .. {}", format_size(kMaxMessageBytes)));
    }
    if (op.fixed_bytes != 0 && s != op.fixed_bytes) {
      return bad("sizes", fmt::format("size {} with {}", format_size(s), op.name),
                 fmt::format("{} moves {} bytes: give -s {}", op.name, op.fixed_bytes, op.fixed_bytes));
    }
  }
  if (spec.duration_s < 0 || spec.duration_s > kMaxDurationS) {
    return bad("duration_s", fmt::format("duration {} s", spec.duration_s),
               fmt::format("must be 0 < duration <= {} s", kMaxDurationS));
  }
  if (!spec.duration_mode() && (spec.iters == 0 || spec.iters > kMaxIters)) {
    return bad("iters", fmt::format("iters {}", spec.iters), fmt::format("must be 1 .. {}", kMaxIters));
  }
  if (spec.warmup_iters > kMaxIters) {
    return bad("warmup_iters", fmt::format("warmup iters {}", spec.warmup_iters), fmt::format("must be 0 .. {}", kMaxIters));
  }
  if (spec.qps == 0 || spec.qps > kMaxQps) {
    return bad("qps", fmt::format("qps {}", spec.qps), fmt::format("must be 1 .. {}", kMaxQps));
  }
  if (spec.tx_depth == 0 || spec.tx_depth > kMaxTxDepth) {
    return bad("tx_depth", fmt::format("tx-depth {}", spec.tx_depth), fmt::format("must be 1 .. {}", kMaxTxDepth));
  }
  if (lat && spec.qps != 1) {
    return bad("qps", fmt::format("qps {} with a latency test", spec.qps), "latency is measured on one QP; use bw for --qps");
  }
  if (lat && spec.bidir) return bad("bidir", "bidir with a latency test", "a ping-pong is already both ways; use bw for --bidir");
  for (auto [m, field] : {std::pair{&spec.mem, "mem"}, std::pair{&spec.peer_mem, "peer_mem"}}) {
    if (auto ok = parse_memory_spec(to_string(*m)); !ok || *ok != *m) {
      return bad(field, fmt::format("memory \"{}\"", to_string(*m)), "write KIND or KIND:ARG, e.g. host, cuda, cuda:1");
    }
  }
  if (lat && op.latency == LatencyStyle::kPollMemory && !(spec.mem.is_host() && spec.peer_mem.is_host())) {
    return bad(spec.mem.is_host() ? "peer_mem" : "mem",
               fmt::format("{} latency with {} memory", op.name, spec.mem.is_host() ? spec.peer_mem.kind : spec.mem.kind),
               "a write ping-pong polls the buffer with the CPU, which cannot read GPU memory; use --op write_imm "
               "(completion on the receiver's CQ) or send");
  }
  if (spec.path.sl > 15) return bad("sl", fmt::format("sl {}", spec.path.sl), "a service level is 0..15");
  if (spec.path.flow_label > 0xfffff) {
    return bad("flow_label", fmt::format("flow label {}", spec.path.flow_label), "a flow label is 20 bits: 0..1048575");
  }
  if (spec.path.hop_limit == 0) return bad("hop_limit", "hop limit 0", "a hop limit is 1..255");
  if (lat && spec.verify) return bad("verify", "verify with a latency test", "data is checked in bandwidth tests; use bw --verify");
  if (spec.verify && !op.carries_pattern) {
    return bad("verify", fmt::format("verify with {}", op.name),
               fmt::format("{} changes the remote word instead of copying a pattern: there is no data to check", op.name));
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
          {"verify", spec.verify},          {"tclass", spec.path.tclass},
          {"sl", spec.path.sl},              {"flow_label", spec.path.flow_label},
          {"hop_limit", spec.path.hop_limit}, {"ipv6", spec.path.ipv6}};
}

Result<RunSpec> spec_from_json(const nlohmann::json& j, std::string_view path) {
  JsonErrors errors;
  JsonReader r(j, std::string(path), errors);
  r.only({"test", "op", "sizes", "iters", "duration_s", "warmup_iters", "qps", "tx_depth", "bidir", "mem", "peer_mem",
          "gpu_reg", "verify", "tclass", "sl", "flow_label", "hop_limit", "ipv6"},
         "is not a spec field");
  RunSpec spec;
  std::string test{to_string(spec.kind)}, op{to_string(spec.op)};
  std::string mem{to_string(spec.mem)}, peer_mem{to_string(spec.peer_mem)}, gpu_reg{to_string(spec.gpu_reg)};
  r.get("test", test);
  r.get("op", op);
  r.get("sizes", spec.sizes_bytes);
  r.get("iters", spec.iters);
  r.get("duration_s", spec.duration_s);
  r.get("warmup_iters", spec.warmup_iters);
  r.get("qps", spec.qps);
  r.get("tx_depth", spec.tx_depth);
  r.get("bidir", spec.bidir);
  r.get("mem", mem);
  r.get("peer_mem", peer_mem);
  r.get("gpu_reg", gpu_reg);
  r.get("verify", spec.verify);
  r.get("tclass", spec.path.tclass);
  r.get("sl", spec.path.sl);
  r.get("flow_label", spec.path.flow_label);
  r.get("hop_limit", spec.path.hop_limit);
  r.get("ipv6", spec.path.ipv6);
  if (errors.failed()) return errors.unexpected();
  // A value that parses wrong, or a spec that does not validate, names its field too.
  auto at = [&](std::string_view field, Error e) {
    e.field = r.at(field);
    return std::unexpected(std::move(e));
  };
  auto kind = parse_test_kind(test);
  if (!kind) return at("test", kind.error());
  auto parsed_op = parse_op(op);
  if (!parsed_op) return at("op", parsed_op.error());
  auto parsed_mem = parse_memory_spec(mem);
  if (!parsed_mem) return at("mem", parsed_mem.error());
  auto parsed_peer_mem = parse_memory_spec(peer_mem);
  if (!parsed_peer_mem) return at("peer_mem", parsed_peer_mem.error());
  auto parsed_reg = parse_gpu_reg(gpu_reg);
  if (!parsed_reg) return at("gpu_reg", parsed_reg.error());
  spec.kind = *kind;
  spec.op = *parsed_op;
  spec.mem = *parsed_mem;
  spec.peer_mem = *parsed_peer_mem;
  spec.gpu_reg = *parsed_reg;
  if (auto ok = validate(spec); !ok) return at(ok.error().field, ok.error());
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
