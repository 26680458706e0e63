#include "verbs/ops.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace railcheck::verbs {
namespace {

constexpr bool rows_in_enum_order() {
  for (size_t i = 0; i < kOps.size(); ++i) {
    if (static_cast<size_t>(kOps[i].op) != i) return false;
  }
  return true;
}
static_assert(rows_in_enum_order(), "kOps rows must be in Op's order: op_info() indexes by the enum");

constexpr std::array kKinds{TestKind::kLatency, TestKind::kBandwidth};

}  // namespace

std::string_view to_string(TestKind kind) noexcept { return kind == TestKind::kLatency ? "lat" : "bw"; }
std::string_view to_string(Op op) noexcept { return op_info(op).name; }

Result<TestKind> parse_test_kind(std::string_view text) {
  for (TestKind k : kKinds) {
    if (text == to_string(k)) return k;
  }
  return fail(Errc::kInvalidArgument, fmt::format("test \"{}\"", text), "use lat or bw");
}

Result<Op> parse_op(std::string_view text) {
  for (const OpInfo& o : kOps) {
    if (text == o.name) return o.op;
  }
  return fail(Errc::kInvalidArgument, fmt::format("op \"{}\"", text), fmt::format("use {}", op_list()));
}

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (const OpInfo& o : kOps) names.emplace_back(o.name);
  return names;
}

std::string op_list(std::string_view last_joiner) {
  std::string s;
  for (size_t i = 0; i < kOps.size(); ++i) {
    s += i == 0 ? "" : (i + 1 == kOps.size() ? fmt::format(" {} ", last_joiner) : std::string(", "));
    s += kOps[i].name;
  }
  return s;
}

std::string ops_help() {
  size_t width = 0;
  for (const OpInfo& o : kOps) width = std::max(width, o.name.size());
  std::string s;
  for (const OpInfo& o : kOps) s += fmt::format("  {:<{}}  {}\n", o.name, width, o.help);
  return s;
}

std::vector<std::string_view> profile_keys() {
  std::vector<std::string_view> keys;
  for (const OpInfo& o : kOps) {
    if (std::ranges::find(keys, o.profile_key) == keys.end()) keys.push_back(o.profile_key);
  }
  return keys;
}

std::string TestId::name() const { return fmt::format("{}_{}", to_string(op), to_string(kind)); }

std::vector<std::string> test_names() {
  std::vector<std::string> names;
  for (TestKind k : kKinds) {
    for (const OpInfo& o : kOps) names.push_back(TestId{.kind = k, .op = o.op}.name());
  }
  return names;
}

Result<TestId> parse_test_id(std::string_view name) {
  for (TestKind k : kKinds) {
    for (const OpInfo& o : kOps) {
      const TestId id{.kind = k, .op = o.op};
      if (name == id.name()) return id;
    }
  }
  return fail(Errc::kInvalidArgument, fmt::format("unknown test '{}'", name),
              fmt::format("tests are {}", fmt::join(test_names(), ", ")));
}

}  // namespace railcheck::verbs
