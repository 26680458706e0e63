#include "gpudirect/memory.hpp"

#include <fmt/format.h>

#include "gpudirect/kinds.hpp"

namespace railcheck::gpudirect {
namespace {

// The memory kinds, one row each.
const MemoryKind* const kKinds[] = {
    &kHostKind,
    &kCudaKind,
};

Result<const MemoryKind*> find_kind(const verbs::MemorySpec& mem) {
  for (const MemoryKind* k : kKinds) {
    if (k->name == mem.kind) return k;
  }
  return fail(Errc::kInvalidArgument, fmt::format("memory kind \"{}\"", mem.kind),
              fmt::format("this railcheck knows {}", memory_kinds_usage()));
}

}  // namespace

std::string memory_kinds_usage() {
  std::string s;
  for (const MemoryKind* k : kKinds) s += (s.empty() ? "" : ", ") + std::string(k->usage);
  return s;
}

Result<void> check_memory_spec(const verbs::MemorySpec& mem) {
  auto kind = find_kind(mem);
  if (!kind) return std::unexpected(kind.error());
  return (*kind)->check_arg(mem.arg);
}

Result<void> memory_available(const verbs::MemorySpec& mem) {
  auto kind = find_kind(mem);
  if (!kind) return std::unexpected(kind.error());
  if (auto ok = (*kind)->check_arg(mem.arg); !ok) return ok;
  return (*kind)->available(mem.arg);
}

Result<std::unique_ptr<verbs::Buffer>> make_buffer(const verbs::BufferRequest& request, const MemoryOptions& options) {
  auto kind = find_kind(request.memory);
  if (!kind) return std::unexpected(kind.error());
  if (auto ok = (*kind)->check_arg(request.memory.arg); !ok) return std::unexpected(ok.error());
  return (*kind)->allocate(request, options);
}

verbs::BufferFactory buffer_factory(MemoryOptions options) {
  return [options = std::move(options)](const verbs::BufferRequest& request) { return make_buffer(request, options); };
}

}  // namespace railcheck::gpudirect
