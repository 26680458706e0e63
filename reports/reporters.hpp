#pragma once
// The reporters: one write function per output format, each in a file of its own
// (<format>_report.cpp), named by its row in the format table (outputs.cpp). Only that table
// calls them; everyone else goes through outputs.hpp (render, finish_run).

#include <iosfwd>

#include "common/error.hpp"
#include "reports/outputs.hpp"

namespace railcheck::reports {

Result<void> write_terminal(const RunView& run, std::ostream& out);    // terminal_report.cpp
Result<void> write_json(const RunView& run, std::ostream& out);        // json_report.cpp
Result<void> write_junit(const RunView& run, std::ostream& out);       // junit_report.cpp
Result<void> write_html(const RunView& run, std::ostream& out);        // html_report.cpp
Result<void> write_prometheus(const RunView& run, std::ostream& out);  // prometheus_report.cpp
Result<void> write_csv(const RunView& run, std::ostream& out);         // csv_report.cpp

}  // namespace railcheck::reports
