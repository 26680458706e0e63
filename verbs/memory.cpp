#include "verbs/memory.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/json_reader.hpp"

namespace railcheck::verbs {

std::string to_string(const MemorySpec& mem) { return mem.arg.empty() ? mem.kind : mem.kind + ":" + mem.arg; }

Result<MemorySpec> parse_memory_spec(std::string_view text) {
  const size_t colon = text.find(':');
  MemorySpec mem{.kind = std::string(text.substr(0, colon)),
                 .arg = colon == std::string_view::npos ? std::string() : std::string(text.substr(colon + 1))};
  const bool word = !mem.kind.empty() && std::ranges::all_of(mem.kind, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
  if (!word || (colon != std::string_view::npos && mem.arg.empty())) {
    return fail(Errc::kInvalidArgument, fmt::format("memory \"{}\"", text),
                "write KIND or KIND:ARG, e.g. host, host:huge, cuda, cuda:1, cuda:0000:18:00.0");
  }
  return mem;
}

std::string_view to_string(GpuReg reg) noexcept {
  switch (reg) {
    case GpuReg::kAuto: return "auto";
    case GpuReg::kDmabuf: return "dmabuf";
    case GpuReg::kPeermem: return "peermem";
  }
  return "unknown";
}

Result<GpuReg> parse_gpu_reg(std::string_view text) {
  for (GpuReg reg : {GpuReg::kAuto, GpuReg::kDmabuf, GpuReg::kPeermem}) {
    if (text == to_string(reg)) return reg;
  }
  return fail(Errc::kInvalidArgument, fmt::format("GPU registration \"{}\"", text), "use auto, dmabuf or peermem");
}

std::string memlock_hint() {
  rlimit rl{};
  getrlimit(RLIMIT_MEMLOCK, &rl);
  if (rl.rlim_cur == RLIM_INFINITY) return "check the device and the buffer size";
  return fmt::format("the memlock limit is {} KiB: raise it (ulimit -l unlimited; in a pod: the IPC_LOCK "
                     "capability and a memlock rlimit from the container runtime)",
                     rl.rlim_cur / 1024);
}

nlohmann::json to_json(const MemoryInfo& info) {
  nlohmann::json j{{"kind", info.kind}, {"registration", info.registration}};
  if (!info.registration_note.empty()) j["registration_note"] = info.registration_note;
  if (info.huge_pages) j["huge_pages"] = true;
  if (info.gpu) {
    j["gpu"] = *info.gpu;
    j["gpu_name"] = info.gpu_name;
    j["gpu_pci_address"] = info.gpu_pci_address;
    j["gpu_distance"] = info.gpu_distance;
    j["gpu_choice"] = info.gpu_choice;
  }
  return j;
}

Result<MemoryInfo> memory_info_from_json(const nlohmann::json& j) {
  JsonErrors errors("peer's memory description: ", "is the peer a railcheck of the same version?", Errc::kProtocol);
  JsonReader r(j, "memory", errors);
  MemoryInfo info;
  r.require("kind", info.kind);
  r.require("registration", info.registration);
  r.get("registration_note", info.registration_note);
  r.get("huge_pages", info.huge_pages);
  r.get("gpu", info.gpu);
  r.get("gpu_name", info.gpu_name);
  r.get("gpu_pci_address", info.gpu_pci_address);
  r.get("gpu_distance", info.gpu_distance);
  r.get("gpu_choice", info.gpu_choice);
  if (errors.failed()) return errors.unexpected();
  return info;
}

}  // namespace railcheck::verbs
