#include "common/json_reader.hpp"

#include <algorithm>

namespace railcheck {

void JsonErrors::add(std::string_view path, std::string_view what) {
  if (first_) return;
  Error e = Error::make(code_, fmt::format("{}{}{}{}", prefix_, path, path.empty() ? "" : " ", what), hint_);
  e.field = std::string(path);
  first_ = std::move(e);
}

JsonReader::JsonReader(const nlohmann::json& j, std::string path, JsonErrors& errors)
    : j_(j), path_(std::move(path)), errors_(errors) {
  if (!j_.is_object()) errors_.add(path_.empty() ? "the document" : path_, "must be an object");
}

void JsonReader::only(std::span<const std::string_view> known, std::string_view what) {
  if (!ok() || !j_.is_object()) return;
  for (const auto& [key, value] : j_.items()) {
    if (std::ranges::find(known, std::string_view(key)) == known.end()) {
      errors_.add(at(key), what);
      return;
    }
  }
}

const nlohmann::json* JsonReader::find(std::string_view key) const {
  if (!ok() || !j_.is_object()) return nullptr;
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string JsonReader::at(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

}  // namespace railcheck
