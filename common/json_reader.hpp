#pragma once
// Reading JSON documents into plain structs, one way for every reader of the project (run
// specs, the agent API, results, profiles, endpoints, inventories). A JsonReader walks one
// object; every reader of one document shares a JsonErrors, which keeps the first error with
// the path of the field at fault ("spec.qps", "records[3].src.node"). Values are never
// converted: nlohmann would turn -1 into 4294967295, 2.5 into 2 and true into 1, so a field of
// the wrong type is an error naming the type it must be. Ranges and unknown keys are checked
// the same way. The Error carries the path in Error::field, so an API can name the field of a
// 400 without reading the message.

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace railcheck {

// The first error met while reading one document. Messages are "<prefix><path> <what>", e.g.
// "results JSON: records[4].bandwidth.avg_gbps must be a number".
class JsonErrors {
 public:
  explicit JsonErrors(std::string prefix = {}, std::string hint = {}, Errc code = Errc::kInvalidArgument)
      : prefix_(std::move(prefix)), hint_(std::move(hint)), code_(code) {}

  // Records an error unless one is already there (the first one wins).
  void add(std::string_view path, std::string_view what);
  [[nodiscard]] bool failed() const noexcept { return first_.has_value(); }
  [[nodiscard]] const Error& error() const { return *first_; }
  // The error as a Result, for `if (errors.failed()) return errors.unexpected();`.
  [[nodiscard]] std::unexpected<Error> unexpected() const { return std::unexpected(*first_); }

 private:
  std::string prefix_, hint_;
  Errc code_;
  std::optional<Error> first_;
};

// What a JSON value must be, in words, for messages: "a string", "a number", ...
template <typename T>
constexpr std::string_view json_type_name() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  else if constexpr (std::is_same_v<T, std::string>) return "a string";
  else if constexpr (std::is_floating_point_v<T>) return "a number";
  else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) return "a non-negative integer in range";
  else if constexpr (std::is_integral_v<T>) return "an integer in range";
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) return "an array of strings";
  else if constexpr (std::is_same_v<T, nlohmann::json>) return "a JSON value";
  else return "an array of numbers in range";
}

// Whether `v` holds a T as it is, without nlohmann's conversions.
template <typename T>
bool json_holds(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, nlohmann::json>) {
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (!v.is_number_integer()) return false;
    const int64_t i = v.get<int64_t>();
    return i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
           (i < 0 || static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max()));
  } else if constexpr (std::is_floating_point_v<T>) {
    return v.is_number();
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v.is_string();
  } else {  // a vector of one of the above
    if (!v.is_array()) return false;
    for (const auto& e : v) {
      if (!json_holds<typename T::value_type>(e)) return false;
    }
    return true;
  }
}

// One object of a document. A reader whose value is not an object records that error, and
// every read after the first error does nothing, so a reading function can read every field
// and check once at the end.
class JsonReader {
 public:
  // Borrows `j` and `errors`: both outlive the reader.
  JsonReader(const nlohmann::json& j, std::string path, JsonErrors& errors);

  // Keys not in `known` are errors: "<path>.<key> <what>".
  void only(std::span<const std::string_view> known, std::string_view what = "is not a known field");
  void only(std::initializer_list<std::string_view> known, std::string_view what = "is not a known field") {
    only(std::span<const std::string_view>(known.begin(), known.size()), what);
  }

  // Reads `key` into `out` when present (null counts as absent); returns whether it did.
  template <typename T>
  bool get(std::string_view key, T& out) {
    const nlohmann::json* v = find(key);
    if (v == nullptr) return false;
    if (!json_holds<T>(*v)) {
      type_error(key, json_type_name<T>());
      return false;
    }
    out = v->get<T>();
    return true;
  }
  template <typename T>
  bool get(std::string_view key, std::optional<T>& out) {
    T value{};
    if (!get(key, value)) return false;
    out = std::move(value);
    return true;
  }
  // The same, and absent (or null) is an error: "<path> must be <type> (missing)".
  template <typename T>
  bool require(std::string_view key, T& out) {
    if (ok() && find(key) == nullptr) {
      type_error(key, fmt::format("{} (missing)", json_type_name<T>()));
      return false;
    }
    return get(key, out);
  }
  // A number within [min, max] ("<path> is 7, must be in [0, 1]").
  template <typename T>
  bool get_in(std::string_view key, T& out, T min, T max) {
    T value{};
    if (!get(key, value)) return false;
    if (value < min || value > max) {
      errors_.add(at(key), fmt::format("is {}, must be in [{}, {}]", value, min, max));
      return false;
    }
    out = value;
    return true;
  }

  // Calls fn(JsonReader&) for the object at `key` when present.
  template <typename Fn>
  void object(std::string_view key, Fn&& fn) {
    const nlohmann::json* v = find(key);
    if (v == nullptr) return;
    JsonReader nested(*v, at(key), errors_);
    if (ok()) fn(nested);
  }
  // Calls fn(element, path) for every element of the array at `key` when present.
  template <typename Fn>
  void each(std::string_view key, Fn&& fn) {
    const nlohmann::json* v = find(key);
    if (v == nullptr) return;
    if (!v->is_array()) return type_error(key, "an array");
    for (size_t i = 0; i < v->size() && ok(); ++i) fn((*v)[i], fmt::format("{}[{}]", at(key), i));
  }

  // The value at `key`; null when absent, null, or after an error.
  [[nodiscard]] const nlohmann::json* find(std::string_view key) const;
  [[nodiscard]] const nlohmann::json& raw() const noexcept { return j_; }
  // The path of `key` in this object: "records[3].src" + "node".
  [[nodiscard]] std::string at(std::string_view key) const;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] bool ok() const noexcept { return !errors_.failed(); }
  // Records an error about `key` of this object ("<path>.<key> <what>").
  void fail(std::string_view key, std::string_view what) { errors_.add(at(key), what); }
  JsonErrors& errors() noexcept { return errors_; }

 private:
  void type_error(std::string_view key, std::string_view type) { errors_.add(at(key), fmt::format("must be {}", type)); }

  const nlohmann::json& j_;
  std::string path_;
  JsonErrors& errors_;
};

}  // namespace railcheck
