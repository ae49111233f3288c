// Fuzzes the rule condition language (rules/expression.h): the input bytes are the condition.
//
// Parse: deterministic; a refusal is InvalidArgument starting "at L:C: " with a line and column
// that exist in the text, or PayloadTooLarge. An accepted expression's ToString parses back
// (the canonical text may be longer than the input, so with a roomier length limit) to the same
// ToString, the same signals and the same lookback. Evaluation: a deterministic sequence of
// readings derived from the input (numbers including extremes, NaN and infinity, strings,
// booleans, no value, some out of order) is fed to two ConditionStates of the parsed
// expression and one of the re-parsed one: all three give the same results and the same
// evidence after every evaluation; evidence names each item once and holds no NaN or infinity.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "rules/expression.h"

namespace {

using doppel::Result;
using doppel::StatusCode;
using doppel::rules::ConditionState;
using doppel::rules::Expression;
using doppel::rules::ExpressionLimits;
using doppel::rules::Value;

// Characters (UTF-8 sequences) on each line: where an "at L:C" may point (C ≤ length + 1).
std::vector<std::size_t> LineLengths(std::string_view text) {
  std::vector<std::size_t> lengths(1, 0);
  for (char c : text) {
    if (c == '\n') {
      lengths.push_back(0);
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++lengths.back();
    }
  }
  return lengths;
}

void CheckRefusal(const doppel::Status& status, std::string_view text) {
  const std::string& message = status.message();
  FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument || status.code() == StatusCode::kPayloadTooLarge,
             message);
  if (status.code() == StatusCode::kPayloadTooLarge && message.starts_with("the expression is ")) return;
  unsigned line = 0, column = 0;
  int consumed = 0;
  FUZZ_CHECK(std::sscanf(message.c_str(), "at %u:%u: %n", &line, &column, &consumed) == 2 && consumed > 0,
             "no position: " + message);
  FUZZ_CHECK(message.size() > static_cast<std::size_t>(consumed), "no explanation: " + message);
  std::vector<std::size_t> lines = LineLengths(text);
  FUZZ_CHECK(line >= 1 && line <= lines.size(), "line out of the text: " + message);
  FUZZ_CHECK(column >= 1 && column <= lines[line - 1] + 1, "column out of the line: " + message);
}

// A small deterministic generator seeded from the input.
class Readings {
 public:
  explicit Readings(std::string_view text) {
    for (char c : text) state_ = (state_ ^ static_cast<unsigned char>(c)) * 1099511628211ull;  // FNV-1a
  }
  uint64_t Next() {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return state_ >> 33;
  }
  Value NextValue() {
    static const double kNumbers[] = {-1, 0, 0.5, 1, 2, 7.1, 25, 80, 90, 95, 200, 1e9, -1e300, 1e300,
                                      std::numeric_limits<double>::quiet_NaN(),
                                      std::numeric_limits<double>::infinity()};
    static const char* kStrings[] = {"", "fault", "ok", "é"};
    switch (Next() % 8) {
      case 0: return Value();
      case 1: return Value(Next() % 2 == 0);
      case 2: return Value(std::string(kStrings[Next() % 4]));
      default: return Value(kNumbers[Next() % (sizeof(kNumbers) / sizeof(kNumbers[0]))]);
    }
  }

 private:
  uint64_t state_ = 14695981039346656037ull;
};

void CheckEvidence(const std::vector<std::pair<std::string, Value>>& evidence) {
  std::set<std::string> names;
  for (const auto& [name, value] : evidence) {
    FUZZ_CHECK(names.insert(name).second, "evidence names an item twice: " + name);
    if (const double* number = std::get_if<double>(&value)) FUZZ_CHECK(std::isfinite(*number), name);
  }
}

void CheckEvaluation(const Expression& parsed, const Expression& reparsed, std::string_view text) {
  ConditionState a(parsed), b(parsed), c(reparsed);
  Readings readings(text);
  const std::size_t signals = parsed.signals().size();
  int64_t now = 0;
  for (int step = 0; step < 48; ++step) {
    now += static_cast<int64_t>(readings.Next() % 5) * 15'000'000'000;
    if (signals > 0) {
      std::size_t index = readings.Next() % signals;
      int64_t time = readings.Next() % 4 == 0 ? now - 30'000'000'000 : now;  // some out of order
      Value value = readings.NextValue();
      for (ConditionState* state : {&a, &b, &c}) state->Observe(index, time, value);
    }
    if (readings.Next() % 3 == 0) continue;  // sometimes several readings per evaluation
    bool result = a.Evaluate(now);
    FUZZ_CHECK(b.Evaluate(now) == result, "evaluation is not deterministic");
    FUZZ_CHECK(c.Evaluate(now) == result, "the canonical text evaluates differently");
    auto evidence = a.Evidence();
    CheckEvidence(evidence);
    FUZZ_CHECK(b.Evidence() == evidence, "evidence is not deterministic");
    FUZZ_CHECK(c.Evidence() == evidence, "the canonical text gives different evidence");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<Expression> parsed = Expression::Parse(text);
  Result<Expression> again = Expression::Parse(text);
  FUZZ_CHECK(parsed.ok() == again.ok(), "parsing is not deterministic");
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().message() == again.status().message(), "the error is not deterministic");
    CheckRefusal(parsed.status(), text);
    return 0;
  }
  FUZZ_CHECK(parsed->text() == text, "text() is not the input");
  std::string canonical = parsed->ToString();
  ExpressionLimits roomy{.max_length = 1 << 20};
  Result<Expression> reparsed = Expression::Parse(canonical, roomy);
  FUZZ_CHECK(reparsed.ok(), canonical + " → " + reparsed.status().message());
  FUZZ_CHECK(reparsed->ToString() == canonical, canonical + " → " + reparsed->ToString());
  FUZZ_CHECK(std::equal(parsed->signals().begin(), parsed->signals().end(), reparsed->signals().begin(),
                        reparsed->signals().end()),
             "signals differ after the round trip: " + canonical);
  FUZZ_CHECK(parsed->lookback_ns() == reparsed->lookback_ns(), canonical);
  CheckEvaluation(*parsed, *reparsed, text);
  return 0;
}
