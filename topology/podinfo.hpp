#pragma once
// Reads a Kubernetes downward-API file of annotations or labels: one `key="value"` line per
// entry, the value quoted as Go's strconv.Quote does (kubelet's fieldpath.FormatMap). This is
// how a pod learns its own Multus network-status without talking to the API server.

#include <map>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace railcheck::topology {

// The default mount path of the podinfo volume in the rdma-tools chart.
inline constexpr std::string_view kDefaultPodinfoDir = "/etc/podinfo";

using Annotations = std::map<std::string, std::string, std::less<>>;

// Parses the text of a downward-API annotations file; Errc::kProtocol names the line.
Result<Annotations> parse_annotations(std::string_view text);
// Reads and parses DIR/annotations; Errc::kNotFound when the file is missing.
Result<Annotations> read_annotations_file(const std::string& path);

// Undoes Go's strconv.Quote: the text between the quotes, escapes resolved.
Result<std::string> unquote_go_string(std::string_view quoted);

}  // namespace railcheck::topology
