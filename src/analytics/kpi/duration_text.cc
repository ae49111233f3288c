#include "analytics/kpi/duration_text.h"

#include <fmt/format.h>

#include <charconv>

namespace doppel::analytics {
namespace {

struct Unit {
  int64_t ns;
  std::string_view name;
};
// Longest names first, so "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {{1'000'000, "ms"},        {86'400'000'000'000, "d"}, {3'600'000'000'000, "h"},
                           {60'000'000'000, "m"},    {1'000'000'000, "s"}};

}  // namespace

Result<int64_t> ParseDurationText(std::string_view text, std::string_view what) {
  const auto bad = [&] {
    return Status::InvalidArgument(
        fmt::format("'{}' must be a positive duration such as \"30s\", \"10m\" or \"1h\", got \"{}\"", what, text));
  };
  double total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    double amount = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), amount, std::chars_format::fixed);
    if (ec != std::errc() || amount < 0) return bad();
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (rest.starts_with(u.name)) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return bad();
    rest.remove_prefix(unit->name.size());
    total += amount * static_cast<double>(unit->ns);
  }
  if (!(total >= 1) || total > 9e18) return bad();
  return static_cast<int64_t>(total + 0.5);
}

std::string FormatDurationText(int64_t ns) {
  for (const Unit& unit : {kUnits[1], kUnits[2], kUnits[3], kUnits[4], kUnits[0]}) {
    if (ns % unit.ns == 0) return fmt::format("{}{}", ns / unit.ns, unit.name);
  }
  return fmt::format("{}ms", static_cast<double>(ns) / 1e6);
}

}  // namespace doppel::analytics
