#include "topology/podinfo.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

namespace railcheck::topology {
namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Reads `digits` characters of base `base` at s[i..]; nullopt when they are not all digits.
std::optional<uint32_t> read_number(std::string_view s, size_t i, size_t digits, int base) {
  if (i + digits > s.size()) return std::nullopt;
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data() + i, s.data() + i + digits, v, base);
  if (ec != std::errc() || end != s.data() + i + digits) return std::nullopt;
  return v;
}

}  // namespace

Result<std::string> unquote_go_string(std::string_view q) {
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') {
    return fail(Errc::kProtocol, "value is not a double-quoted string");
  }
  std::string_view s = q.substr(1, q.size() - 2);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') return fail(Errc::kProtocol, fmt::format("unescaped quote at offset {}", i + 1));
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == s.size()) return fail(Errc::kProtocol, "value ends in a lone backslash");
    switch (char e = s[i]) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case '\'': out += '\''; break;
      case 'x':
      case 'u':
      case 'U': {
        const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        auto v = read_number(s, i + 1, digits, 16);
        if (!v) return fail(Errc::kProtocol, fmt::format("bad \\{} escape at offset {}", e, i));
        if (e == 'x') {
          out += static_cast<char>(*v);
        } else if (*v > 0x10FFFF) {
          return fail(Errc::kProtocol, fmt::format("code point out of range at offset {}", i));
        } else {
          append_utf8(out, *v);
        }
        i += digits;
        break;
      }
      default: {
        auto v = read_number(s, i, 3, 8);  // octal \NNN
        if (!v || *v > 0xFF) return fail(Errc::kProtocol, fmt::format("unknown escape \\{} at offset {}", e, i));
        out += static_cast<char>(*v);
        i += 2;
      }
    }
  }
  return out;
}

Result<Annotations> parse_annotations(std::string_view text) {
  Annotations result;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return fail(Errc::kProtocol, fmt::format("annotations line {}: expected key=\"value\"", line_no));
    }
    auto value = unquote_go_string(line.substr(eq + 1));
    if (!value) {
      return fail(Errc::kProtocol, fmt::format("annotations line {} ({}): {}", line_no, line.substr(0, eq),
                                               value.error().what));
    }
    result.insert_or_assign(std::string(line.substr(0, eq)), std::move(*value));
  }
  return result;
}

Result<Annotations> read_annotations_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(Errc::kNotFound, "podinfo annotations file " + path,
                "mount the pod's metadata.annotations with a downward-API volume, or pass --podinfo DIR");
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_annotations(text.str());
  if (!parsed) parsed.error().what = path + ": " + parsed.error().what;
  return parsed;
}

}  // namespace railcheck::topology
