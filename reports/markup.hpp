#pragma once
// Escaping for the XML and HTML reporters. Text comes from the cluster (node names, error
// messages, annotations), so every string goes through here: markup characters become
// entities, and what XML 1.0 cannot carry at all (control characters, broken UTF-8) becomes
// U+FFFD, so the document always parses.

#include <string>
#include <string_view>

namespace railcheck::reports {

// For attribute values (quotes, tabs and line breaks as character references, which
// attribute normalisation would otherwise turn into spaces) and element text in XML and HTML.
std::string xml_escape(std::string_view text);
// For element text where line breaks should stay readable as they are (JUnit details).
std::string xml_text(std::string_view text);

// A name usable as an HTML id or class fragment: [A-Za-z0-9_-], others as '_'.
std::string id_fragment(std::string_view text);

}  // namespace railcheck::reports
