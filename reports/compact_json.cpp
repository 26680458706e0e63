#include "reports/compact_json.hpp"

#include <cstddef>

namespace railcheck::reports {
namespace {

class Reindent {
 public:
  Reindent(std::string_view text, size_t indent, std::span<const std::pair<std::string_view, std::string_view>> replace,
           std::string& out)
      : text_(text), base_(indent), replace_(replace), out_(out) {}

  bool run() {
    if (!value(0, nullptr) || pos_ != text_.size()) return false;
    return replaced_ == replace_.size();
  }

 private:
  static constexpr int kMaxDepth = 64;

  void newline(int depth) {
    out_ += '\n';
    out_.append(base_ + 2 * static_cast<size_t>(depth), ' ');
  }

  // A string token, copied (or skipped when `copy` is false); its text without the quotes in
  // `name` when given.
  bool string(bool copy, std::string_view* name) {
    const size_t start = pos_;
    if (pos_ >= text_.size() || text_[pos_] != '"') return false;
    for (++pos_; pos_ < text_.size(); ++pos_) {
      const char c = text_[pos_];
      if (c == '\\') {
        ++pos_;  // the escaped character (\uXXXX: its hex digits follow as plain characters)
      } else if (c == '"') {
        ++pos_;
        if (name) *name = text_.substr(start + 1, pos_ - start - 2);
        if (copy) out_.append(text_.substr(start, pos_ - start));
        return true;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        return false;  // dump() escapes control characters
      }
    }
    return false;
  }

  // A number, true, false or null: copied as written.
  bool scalar(bool copy) {
    const size_t start = pos_;
    for (std::string_view literal : {"true", "false", "null"}) {
      if (text_.substr(pos_, literal.size()) == literal) {
        pos_ += literal.size();
        if (copy) out_.append(literal);
        return true;
      }
    }
    auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ > from;
    };
    auto accept = [&](char c) {
      if (pos_ >= text_.size() || text_[pos_] != c) return false;
      ++pos_;
      return true;
    };
    accept('-');
    if (!digits()) return false;
    if (accept('.') && !digits()) return false;
    if (accept('e') || accept('E')) {
      if (!accept('+')) accept('-');
      if (!digits()) return false;
    }
    if (copy) out_.append(text_.substr(start, pos_ - start));
    return true;
  }

  // The value at pos_, at `depth`; `replacement`: write this instead of it (a top-level member).
  bool value(int depth, const std::string_view* replacement) {
    if (depth > kMaxDepth || pos_ >= text_.size()) return false;
    const bool copy = replacement == nullptr;
    bool ok = false;
    switch (text_[pos_]) {
      case '{':
      case '[': ok = container(depth, copy); break;
      case '"': ok = string(copy, nullptr); break;
      default: ok = scalar(copy); break;
    }
    if (ok && replacement) out_.append(*replacement);
    return ok;
  }

  // An object or an array: "{}" or "[]" when empty, else one member or element a line.
  bool container(int depth, bool copy) {
    const char open = text_[pos_];
    const char close = open == '{' ? '}' : ']';
    ++pos_;
    if (pos_ < text_.size() && text_[pos_] == close) {
      ++pos_;
      if (copy) (out_ += open) += close;
      return true;
    }
    if (copy) out_ += open;
    while (true) {
      if (copy) newline(depth + 1);
      const std::string_view* replacement = copy ? nullptr : &kNothing;
      if (open == '{' && !key(depth, copy, replacement)) return false;
      if (!value(depth + 1, replacement)) return false;
      if (pos_ >= text_.size()) return false;
      if (text_[pos_] == ',') {
        ++pos_;
        if (copy) out_ += ',';
        continue;
      }
      if (text_[pos_] != close) return false;
      ++pos_;
      if (copy) {
        newline(depth);
        out_ += close;
      }
      return true;
    }
  }

  // A member's name and colon. In the top-level object (depth 0), a member named in replace_
  // gets `replacement` set to its new value.
  bool key(int depth, bool copy, const std::string_view*& replacement) {
    std::string_view name;
    if (!string(copy, &name) || pos_ >= text_.size() || text_[pos_] != ':') return false;
    ++pos_;
    if (copy) out_ += ": ";
    if (depth != 0) return true;
    for (const auto& [member, with] : replace_) {
      if (member == name) {
        replacement = &with;
        ++replaced_;
      }
    }
    return true;
  }

  static constexpr std::string_view kNothing{};  // a skipped value writes nothing

  std::string_view text_;
  size_t pos_ = 0;
  size_t base_;
  std::span<const std::pair<std::string_view, std::string_view>> replace_;
  size_t replaced_ = 0;
  std::string& out_;
};

}  // namespace

bool reindent_compact(std::string_view compact, size_t indent,
                      std::span<const std::pair<std::string_view, std::string_view>> replace, std::string& out) {
  const size_t size = out.size();
  if (compact.empty() || compact.front() != '{' || !Reindent(compact, indent, replace, out).run()) {
    out.resize(size);
    return false;
  }
  return true;
}

}  // namespace railcheck::reports
