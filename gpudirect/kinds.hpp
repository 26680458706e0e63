#pragma once
// The kind table's row type (internal to gpudirect): a kind is a name, the form of its
// argument, and three functions. Each kind defines its row in its own file; memory.cpp lists
// them.

#include <memory>
#include <string_view>

#include "common/error.hpp"
#include "gpudirect/memory.hpp"
#include "verbs/memory.hpp"

namespace railcheck::gpudirect {

struct MemoryKind {
  std::string_view name;   // "host"
  std::string_view usage;  // "host[:huge]"
  Result<void> (*check_arg)(std::string_view arg);
  Result<void> (*available)(std::string_view arg);  // kUnsupported: this node cannot provide it
  Result<std::unique_ptr<verbs::Buffer>> (*allocate)(const verbs::BufferRequest& request, const MemoryOptions& options);
};

extern const MemoryKind kHostKind;  // host_memory.cpp
extern const MemoryKind kCudaKind;  // cuda_kind.cpp

}  // namespace railcheck::gpudirect
