#include "verbs/spec.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace railcheck::verbs {
namespace {

TEST(Spec, SweepIsTwoBytesToEightMiB) {
  auto sizes = sweep_sizes();
  ASSERT_EQ(sizes.size(), 23u);
  EXPECT_EQ(sizes.front(), 2u);
  EXPECT_EQ(sizes.back(), 8u << 20);
}

TEST(Spec, ParseSize) {
  EXPECT_EQ(parse_size("2"), 2u);
  EXPECT_EQ(parse_size("64K"), 65536u);
  EXPECT_EQ(parse_size("4KiB"), 4096u);
  EXPECT_EQ(parse_size("1M"), 1u << 20);
  EXPECT_EQ(parse_size("8MiB"), 8u << 20);
  EXPECT_EQ(parse_size("1G"), 1u << 30);
  EXPECT_EQ(parse_size("12X").error().what, "size \"12X\": unknown unit \"X\"");
  EXPECT_EQ(parse_size("abc").error().what, "size \"abc\"");
  EXPECT_EQ(parse_size("2G").error().hint, "must be at most 1 GiB");
}

TEST(Spec, FormatSize) {
  EXPECT_EQ(format_size(2), "2 B");
  EXPECT_EQ(format_size(65536), "64 KiB");
  EXPECT_EQ(format_size(8u << 20), "8 MiB");
  EXPECT_EQ(format_size(1000), "1000 B");
}

TEST(Spec, DefaultsAreValid) { EXPECT_TRUE(validate(RunSpec{}).has_value()); }

struct BadSpec {
  RunSpec spec;
  const char* what;
};

RunSpec with(auto change) {
  RunSpec s;
  change(s);
  return s;
}

class SpecErrors : public ::testing::TestWithParam<BadSpec> {};

TEST_P(SpecErrors, NameTheFieldAndTheRange) {
  auto r = validate(GetParam().spec);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message(), GetParam().what);
}

INSTANTIATE_TEST_SUITE_P(
    Bounds, SpecErrors,
    ::testing::Values(
        BadSpec{with([](RunSpec& s) { s.sizes_bytes = {}; }), "sizes: empty; give at least one message size"},
        BadSpec{with([](RunSpec& s) { s.sizes_bytes = {0}; }), "size 0; must be 1 B .. 1 GiB"},
        BadSpec{with([](RunSpec& s) { s.iters = 0; }), "iters 0; must be 1 .. 1000000000"},
        BadSpec{with([](RunSpec& s) { s.duration_s = 7200; }), "duration 7200 s; must be 0 < duration <= 3600 s"},
        BadSpec{with([](RunSpec& s) { s.kind = TestKind::kBandwidth, s.qps = 65; }), "qps 65; must be 1 .. 64"},
        BadSpec{with([](RunSpec& s) { s.kind = TestKind::kBandwidth, s.tx_depth = 0; }), "tx-depth 0; must be 1 .. 8192"},
        BadSpec{with([](RunSpec& s) { s.qps = 2; }),
                "qps 2 with a latency test; latency is measured on one QP; use bw for --qps"},
        BadSpec{with([](RunSpec& s) { s.bidir = true; }),
                "bidir with a latency test; a ping-pong is already both ways; use bw for --bidir"},
        BadSpec{with([](RunSpec& s) { s.peer_mem = {.kind = "cuda", .arg = ""}; }),
                "write latency with cuda memory; a write ping-pong polls the buffer with the CPU, which cannot read "
                "GPU memory; use --op write_imm (completion on the receiver's CQ) or send"},
        BadSpec{with([](RunSpec& s) { s.mem = {.kind = "Cuda", .arg = ""}; }),
                "memory \"Cuda\"; write KIND or KIND:ARG, e.g. host, cuda, cuda:1"},
        BadSpec{with([](RunSpec& s) { s.verify = true; }),
                "verify with a latency test; data is checked in bandwidth tests; use bw --verify"}));

TEST(Spec, GpuMemoryLatencyGoesThroughCompletions) {
  for (Op op : {Op::kWriteImm, Op::kSend, Op::kRead}) {
    RunSpec s;
    s.op = op;
    s.mem = {.kind = "cuda", .arg = "1"};
    s.peer_mem = {.kind = "cuda", .arg = ""};
    EXPECT_TRUE(validate(s).has_value()) << to_string(op);
  }
}

TEST(Spec, DataIsCheckedOnHostAlwaysOnGpuWithVerify) {
  RunSpec s;
  s.kind = TestKind::kBandwidth;
  EXPECT_TRUE(s.checks_data());
  s.peer_mem.kind = "cuda";
  EXPECT_FALSE(s.checks_data()) << "a GPU side fills and checks only with verify";
  s.verify = true;
  EXPECT_TRUE(s.checks_data());
  s.kind = TestKind::kLatency;
  EXPECT_FALSE(s.checks_data());
  EXPECT_EQ(s.memory_of(true).kind, "host");
  EXPECT_EQ(s.memory_of(false).kind, "cuda");
}

TEST(Spec, WriteImmIsAnOpWithReceives) {
  EXPECT_EQ(parse_op("write_imm"), Op::kWriteImm);
  EXPECT_EQ(to_string(Op::kWriteImm), "write_imm");
  EXPECT_TRUE(uses_receives(Op::kWriteImm));
  EXPECT_TRUE(uses_receives(Op::kSend));
  EXPECT_FALSE(uses_receives(Op::kWrite));
  EXPECT_FALSE(uses_receives(Op::kRead));
}

TEST(Spec, JsonRoundTrip) {
  RunSpec s;
  s.kind = TestKind::kBandwidth;
  s.op = Op::kRead;
  s.sizes_bytes = {4096, 65536};
  s.duration_s = 2.5;
  s.qps = 4;
  s.tx_depth = 64;
  s.bidir = true;
  s.mem = {.kind = "cuda", .arg = "0000:18:00.0"};
  s.peer_mem = {.kind = "host", .arg = "huge"};
  s.gpu_reg = GpuReg::kPeermem;
  s.verify = true;
  auto back = spec_from_json(to_json(s));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(to_json(*back), to_json(s));
  EXPECT_EQ(back->mem, s.mem);
  EXPECT_EQ(back->peer_mem, s.peer_mem);
  EXPECT_EQ(back->gpu_reg, GpuReg::kPeermem);
  EXPECT_TRUE(back->verify);
  EXPECT_EQ(to_json(s).at("mem"), "cuda:0000:18:00.0");
}

TEST(Spec, MemoryFromJsonAsTheAgentSendsIt) {
  using nlohmann::json;
  auto s = spec_from_json(json{{"test", "bw"}, {"mem", "cuda"}, {"peer_mem", "cuda:2"}, {"gpu_reg", "dmabuf"}});
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->mem, (MemorySpec{.kind = "cuda", .arg = ""}));
  EXPECT_EQ(s->peer_mem, (MemorySpec{.kind = "cuda", .arg = "2"}));
  EXPECT_EQ(s->gpu_reg, GpuReg::kDmabuf);
  auto d = spec_from_json(json::object());
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->mem.is_host() && d->peer_mem.is_host());
  EXPECT_EQ(spec_from_json(json{{"gpu_reg", "nvlink"}}).error().message(),
            "GPU registration \"nvlink\"; use auto, dmabuf or peermem");
  EXPECT_EQ(spec_from_json(json{{"mem", "cuda:"}}).error().what, "memory \"cuda:\"");
  EXPECT_EQ(spec_from_json(json{{"op", "write"}, {"mem", "cuda"}}).error().what, "write latency with cuda memory");
}

TEST(Spec, JsonErrorsNameTheField) {
  using nlohmann::json;
  EXPECT_EQ(spec_from_json(json::array()).error().what, "spec must be a JSON object");
  EXPECT_EQ(spec_from_json(json{{"qps", "four"}}).error().what, "spec.qps: \"four\" has the wrong type");
  EXPECT_EQ(spec_from_json(json{{"colour", 1}}).error().what, "spec.colour: unknown field");
  EXPECT_EQ(spec_from_json(json{{"op", "atomic"}}).error().message(), "op \"atomic\"; use write, read, send or write_imm");
  EXPECT_EQ(spec_from_json(json{{"test", "bw"}, {"qps", 100}}).error().what, "qps 100");
  EXPECT_EQ(spec_from_json(json{{"sizes", json::array({-1})}}).error().what, "spec.sizes: [-1] has the wrong type");
}

}  // namespace
}  // namespace railcheck::verbs
