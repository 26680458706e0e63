#pragma once
// Pretty-printing a JSON document that nlohmann::json::dump() wrote compactly, without parsing
// it into a json value: the coordinator's records.jsonl holds millions of records, and
// results.json wants each one indented inside the document with its verdict and cause. A
// parse and a dump cost ~30 us a record; this copies tokens and costs ~1 us.

#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace railcheck::reports {

// Appends `compact` (one JSON object, as dump() writes it: no whitespace outside strings,
// members in key order) to `out` as dump(2) prints it, every line after the first `indent`
// spaces further in. The top-level members named in `replace` get the given values (JSON
// text, e.g. "\"pass\""); each must be present. Returns false, with `out` as it was, when the
// text is not of that form: the caller parses it instead.
bool reindent_compact(std::string_view compact, size_t indent,
                      std::span<const std::pair<std::string_view, std::string_view>> replace, std::string& out);

}  // namespace railcheck::reports
