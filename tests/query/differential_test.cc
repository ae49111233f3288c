// Differential test: Execute (indexes, planner, pushdown, paging) against a naive evaluator
// written here from the language's definition — full scans, no indexes, none of the query
// library's code — on random graphs and random queries. Both must return the same rows in
// the same (documented) order.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "query/farm_graph.h"
#include "query/query.h"

namespace doppel::query {
namespace {

using testing::Json;

// ---------------------------------------------------------------- the random graph

const std::vector<std::string> kModels = {"dtmi:diff:A;1", "dtmi:diff:B;1", "dtmi:diff:C;1",
                                          "dtmi:diff:E;1", "dtmi:diff:D;1"};
// Each model and what it derives from (itself included), written out by hand.
const std::map<std::string, std::set<std::string>> kIsA = {
    {"dtmi:diff:A;1", {"dtmi:diff:A;1"}},
    {"dtmi:diff:B;1", {"dtmi:diff:B;1", "dtmi:diff:A;1"}},
    {"dtmi:diff:C;1", {"dtmi:diff:C;1", "dtmi:diff:A;1"}},
    {"dtmi:diff:E;1", {"dtmi:diff:E;1", "dtmi:diff:B;1", "dtmi:diff:A;1"}},
    {"dtmi:diff:D;1", {"dtmi:diff:D;1"}},
};
const std::vector<std::string> kPrefixes = {"a", "ab", "b", "t1", "t2"};
const std::vector<std::string> kStrings = {"s0", "s1", "s2", "S1", "s10"};

std::vector<json::value> DiffModels() {
  const char* rels = R"({"@type":"Relationship","name":"r1",
      "properties":[{"@type":"Property","name":"w","schema":"integer"}]},
      {"@type":"Relationship","name":"r2",
      "properties":[{"@type":"Property","name":"w","schema":"integer"}]})";
  auto iface = [&](std::string id, std::string extends, std::string contents) {
    return Json(fmt::format(
        R"({{"@id":"{}","@type":"Interface","@context":"dtmi:dtdl:context;3"{}
            ,"contents":[{}]}})",
        id, extends.empty() ? "" : fmt::format(R"(,"extends":"{}")", extends), contents));
  };
  std::string a_contents = std::string(R"(
      {"@type":"Property","name":"p","schema":"integer"},
      {"@type":"Property","name":"q","schema":"double"},
      {"@type":"Property","name":"s","schema":"string"},
      {"@type":"Property","name":"flag","schema":"boolean"},
      {"@type":"Component","name":"c","schema":"dtmi:diff:Part;1"},)") +
                           rels;
  std::string d_contents = std::string(R"(
      {"@type":"Property","name":"p","schema":"string"},
      {"@type":"Property","name":"s","schema":"string"},)") +
                           rels;
  return {
      iface("dtmi:diff:Part;1", "", R"({"@type":"Property","name":"x","schema":"integer"})"),
      iface("dtmi:diff:A;1", "", a_contents),
      iface("dtmi:diff:B;1", "dtmi:diff:A;1",
            R"({"@type":"Property","name":"b","schema":"integer"})"),
      iface("dtmi:diff:C;1", "dtmi:diff:A;1",
            R"({"@type":"Property","name":"cc","schema":"string"})"),
      iface("dtmi:diff:E;1", "dtmi:diff:B;1",
            R"({"@type":"Property","name":"e","schema":"boolean"})"),
      iface("dtmi:diff:D;1", "", d_contents),
  };
}

struct SnapshotTwin {
  std::string id;
  std::string model;
  json::object doc;
};
struct SnapshotRel {
  std::string id, source, target, name;
  json::object doc;
};

class RandomGraph {
 public:
  explicit RandomGraph(std::mt19937& rng) : rng_(rng), graph_(journal_, clock_, events_) {}

  void Build() {
    auto added = graph_.AddModels(DiffModels());
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    int twins = Uniform(20, 70);
    for (int i = 0; i < twins; ++i) {
      std::string id = Pick(kPrefixes) + std::to_string(Uniform(0, 40));
      if (!models_of_.contains(id)) models_of_[id] = Pick(kModels);
      PutRandomTwin(id);
    }
    std::vector<std::string> ids;
    for (const auto& [id, model] : models_of_) ids.push_back(id);
    int rels = Uniform(0, twins * 2);
    for (int i = 0; i < rels; ++i) {
      std::string body = fmt::format(R"({{"$targetId":"{}","$relationshipName":"{}"{}}})",
                                     Pick(ids), Uniform(0, 2) ? "r1" : "r2",
                                     Uniform(0, 3) ? fmt::format(R"(,"w":{})", Uniform(0, 4)) : "");
      auto r =
          graph_.PutRelationship(Pick(ids), "e" + std::to_string(Uniform(0, 99)), Json(body), {});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    Mutate(ids);
    Snapshot();
  }

  const twin::TwinGraph& graph() const { return graph_; }
  const std::vector<SnapshotTwin>& twins() const { return twins_; }
  const std::vector<SnapshotRel>& rels() const { return rels_; }
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& t : twins_) out.push_back(t.id);
    return out;
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Uniform(0, static_cast<int>(v.size()) - 1)];
  }

  void PutRandomTwin(const std::string& id) {
    const std::string& model = models_of_[id];
    json::object body;
    body["$metadata"] = json::object{{"$model", model}};
    bool is_d = model == "dtmi:diff:D;1";
    if (Uniform(0, 3)) body["p"] = is_d ? json::value(Pick(kStrings)) : json::value(Uniform(-1, 4));
    if (Uniform(0, 3)) body["s"] = Pick(kStrings);
    if (!is_d) {
      if (Uniform(0, 2))
        body["q"] = Uniform(0, 1) ? json::value(Uniform(0, 3) + 0.5) : json::value(Uniform(0, 3));
      if (Uniform(0, 2)) body["flag"] = Uniform(0, 1) == 1;
      json::object c{{"$metadata", json::object{}}};
      if (Uniform(0, 2)) c["x"] = Uniform(0, 3);
      body["c"] = std::move(c);
    }
    auto r = graph_.PutTwin(id, body, {});
    ASSERT_TRUE(r.ok()) << r.status().ToString() << " " << ToJson(body);
  }

  // Replace, delete and re-create some twins and relationships, so the indexes have been
  // updated, not only filled.
  void Mutate(const std::vector<std::string>& ids) {
    for (int i = 0; i < static_cast<int>(ids.size()) / 3; ++i) PutRandomTwin(Pick(ids));
    for (int i = 0; i < 10; ++i) {
      const std::string& id = Pick(ids);
      auto rels = graph_.ListRelationships(id, "");
      if (rels.ok() && !rels->empty() && Uniform(0, 1)) {
        std::string rel_id(rels->at(0).at("$relationshipId").as_string());
        ASSERT_TRUE(graph_.DeleteRelationship(id, rel_id, {}).ok());
      }
      (void)graph_.DeleteTwin(Pick(ids), {});  // Conflict while it has relationships: fine
    }
  }

  void Snapshot() {
    graph_.Read([&](const twin::GraphState& state) {
      for (const auto& [id, twin] : state.twins()) {
        twins_.push_back({id, twin.model_id, twin.doc});
        const auto* out = state.Outgoing(id);
        if (out == nullptr) continue;
        for (const auto& [rel_id, rel] : *out) {
          rels_.push_back({rel_id, rel.source_id, rel.target_id, rel.name, rel.doc});
        }
      }
      return 0;
    });
  }

  std::mt19937& rng_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_;
  std::map<std::string, std::string> models_of_;
  std::vector<SnapshotTwin> twins_;
  std::vector<SnapshotRel> rels_;
};

// ---------------------------------------------------------------- the test's own query tree

enum class Tri { kFalse, kTrue, kUndef };

struct TPath {
  int binding = 0;  // 0 = T, 2j+1 = C<j>, 2j+2 = R<j>
  std::vector<std::string> segs;
};

struct TExpr {
  enum Kind { kCmp, kIn, kAnd, kOr, kNot, kFn, kIsOfModel, kCmpPaths } kind = kCmp;
  TPath path, path2;
  std::string op;  // = != < <= > >=
  bool literal_first = false;
  json::value literal;
  std::vector<json::value> list;
  bool negated = false;  // NIN
  std::vector<TExpr> kids;
  std::string fn;  // IS_DEFINED, ..., STARTSWITH, ...
  std::string model;
  bool exact = false;
};

struct TJoin {
  int source = 0;  // binding of the source twin
  std::string name;
};

struct TQuery {
  bool relationships = false;  // FROM RELATIONSHIPS (binding 0 is then a relationship)
  std::optional<int> top;
  enum { kStar, kCount, kColumns } select = kStar;
  std::vector<std::pair<TPath, std::string>> columns;  // path (empty segs = alias), AS name
  std::vector<TJoin> joins;
  std::optional<TExpr> where;
};

std::string AliasName(int binding) {
  if (binding == 0) return "T";
  return fmt::format("{}{}", binding % 2 == 1 ? "C" : "R", (binding - 1) / 2);
}

std::string Literal(const json::value& v) {
  if (v.is_string()) return "'" + std::string(v.get_string()) + "'";
  return ToJson(v);
}

std::string Render(const TPath& p) {
  std::string out = AliasName(p.binding);
  for (const auto& s : p.segs) out += "." + s;
  return out;
}

std::string Render(const TExpr& e) {
  switch (e.kind) {
    case TExpr::kCmp:
      return e.literal_first ? Literal(e.literal) + " " + e.op + " " + Render(e.path)
                             : Render(e.path) + " " + e.op + " " + Literal(e.literal);
    case TExpr::kCmpPaths:
      return Render(e.path) + " " + e.op + " " + Render(e.path2);
    case TExpr::kIn: {
      std::string items;
      for (const auto& v : e.list) items += (items.empty() ? "" : ", ") + Literal(v);
      return Render(e.path) + (e.negated ? " NIN [" : " IN [") + items + "]";
    }
    case TExpr::kAnd:
    case TExpr::kOr: {
      std::string out;
      for (const auto& k : e.kids) {
        if (!out.empty()) out += e.kind == TExpr::kAnd ? " AND " : " OR ";
        out += "(" + Render(k) + ")";
      }
      return out;
    }
    case TExpr::kNot:
      return "NOT (" + Render(e.kids[0]) + ")";
    case TExpr::kFn:
      if (e.fn == "STARTSWITH" || e.fn == "ENDSWITH" || e.fn == "CONTAINS") {
        return e.fn + "(" + Render(e.path) + ", " + Literal(e.literal) + ")";
      }
      return e.fn + "(" + Render(e.path) + ")";
    case TExpr::kIsOfModel:
      return "IS_OF_MODEL(" + AliasName(e.path.binding) + ", '" + e.model + "'" +
             (e.exact ? ", exact)" : ")");
  }
  return "";
}

std::string Render(const TQuery& q) {
  std::string out = "SELECT ";
  if (q.top) out += fmt::format("TOP({}) ", *q.top);
  if (q.select == TQuery::kStar) out += "*";
  if (q.select == TQuery::kCount) out += "COUNT()";
  for (std::size_t i = 0; i < q.columns.size(); ++i) {
    if (i > 0) out += ", ";
    out += Render(q.columns[i].first);
    if (!q.columns[i].second.empty()) out += " AS " + q.columns[i].second;
  }
  out += q.relationships ? " FROM RELATIONSHIPS T" : " FROM DIGITALTWINS T";
  for (std::size_t j = 0; j < q.joins.size(); ++j) {
    out += fmt::format(" JOIN C{} RELATED {}.{} R{}", j, AliasName(q.joins[j].source),
                       q.joins[j].name, j);
  }
  if (q.where) out += " WHERE " + Render(*q.where);
  return out;
}

// ---------------------------------------------------------------- the naive evaluator

struct NaiveRow {
  std::vector<const SnapshotTwin*> twins;  // by binding (nullptr for relationship bindings)
  std::vector<const SnapshotRel*> rels;
};

const json::value* Walk(const json::object& doc, const std::vector<std::string>& segs,
                        const json::object** as_object) {
  const json::object* obj = &doc;
  const json::value* v = nullptr;
  for (const auto& s : segs) {
    if (obj == nullptr) return nullptr;
    auto it = obj->find(s);
    if (it == obj->end()) return nullptr;
    v = &it->value();
    obj = v->is_object() ? &v->get_object() : nullptr;
  }
  *as_object = obj;
  return v;
}

struct NaiveValue {
  const json::value* v = nullptr;  // nullptr: undefined, or the whole document
  bool whole_doc = false;
  bool defined() const { return v != nullptr || whole_doc; }
};

NaiveValue Lookup(const TPath& p, const NaiveRow& row) {
  const json::object& doc =
      row.twins[p.binding] ? row.twins[p.binding]->doc : row.rels[p.binding]->doc;
  if (p.segs.empty()) return {nullptr, true};
  const json::object* ignored = nullptr;
  return {Walk(doc, p.segs, &ignored), false};
}

// -1/0/1, or nullopt when the two are not of one comparable primitive type.
std::optional<int> NaiveOrder(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.to_number<double>(), y = b.to_number<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    std::string x(a.get_string()), y(b.get_string());
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_bool() && b.is_bool()) return int(a.get_bool()) - int(b.get_bool());
  if (a.is_null() && b.is_null()) return 0;
  return std::nullopt;
}

Tri Bool(bool b) { return b ? Tri::kTrue : Tri::kFalse; }

Tri NaiveCompare(const json::value* a, const std::string& op, const json::value* b) {
  if (a == nullptr || b == nullptr) return Tri::kUndef;
  auto c = NaiveOrder(*a, *b);
  if (!c) return Tri::kUndef;
  if (op == "=") return Bool(*c == 0);
  if (op == "!=") return Bool(*c != 0);
  if (op == "<") return Bool(*c < 0);
  if (op == "<=") return Bool(*c <= 0);
  if (op == ">") return Bool(*c > 0);
  return Bool(*c >= 0);
}

Tri NaiveEval(const TExpr& e, const NaiveRow& row) {
  switch (e.kind) {
    case TExpr::kCmp: {
      NaiveValue v = Lookup(e.path, row);
      return e.literal_first ? NaiveCompare(&e.literal, e.op, v.v)
                             : NaiveCompare(v.v, e.op, &e.literal);
    }
    case TExpr::kCmpPaths:
      return NaiveCompare(Lookup(e.path, row).v, e.op, Lookup(e.path2, row).v);
    case TExpr::kIn: {
      NaiveValue v = Lookup(e.path, row);
      if (v.v == nullptr || v.v->is_object()) return Tri::kUndef;
      bool found = false;
      for (const auto& item : e.list) found = found || NaiveOrder(*v.v, item) == 0;
      return Bool(found != e.negated);
    }
    case TExpr::kAnd: {
      bool undef = false;
      for (const auto& k : e.kids) {
        Tri t = NaiveEval(k, row);
        if (t == Tri::kFalse) return t;
        undef = undef || t == Tri::kUndef;
      }
      return undef ? Tri::kUndef : Tri::kTrue;
    }
    case TExpr::kOr: {
      bool undef = false;
      for (const auto& k : e.kids) {
        Tri t = NaiveEval(k, row);
        if (t == Tri::kTrue) return t;
        undef = undef || t == Tri::kUndef;
      }
      return undef ? Tri::kUndef : Tri::kFalse;
    }
    case TExpr::kNot: {
      Tri t = NaiveEval(e.kids[0], row);
      return t == Tri::kUndef ? t : Bool(t == Tri::kFalse);
    }
    case TExpr::kIsOfModel: {
      const std::string& model = row.twins[e.path.binding]->model;
      if (e.exact) return Bool(model == e.model);
      auto it = kIsA.find(model);
      return Bool(model == e.model || (it != kIsA.end() && it->second.contains(e.model)));
    }
    case TExpr::kFn: {
      NaiveValue v = Lookup(e.path, row);
      if (e.fn == "STARTSWITH" || e.fn == "ENDSWITH" || e.fn == "CONTAINS") {
        if (v.v == nullptr || !v.v->is_string()) return Tri::kUndef;
        std::string s(v.v->get_string()), t(e.literal.get_string());
        if (e.fn == "STARTSWITH") return Bool(s.rfind(t, 0) == 0);
        if (e.fn == "ENDSWITH")
          return Bool(s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0);
        return Bool(s.find(t) != std::string::npos);
      }
      if (e.fn == "IS_DEFINED") return Bool(v.defined());
      if (e.fn == "IS_OBJECT") return Bool(v.whole_doc || (v.v && v.v->is_object()));
      if (v.v == nullptr) return Tri::kFalse;
      if (e.fn == "IS_NULL") return Bool(v.v->is_null());
      if (e.fn == "IS_BOOL") return Bool(v.v->is_bool());
      if (e.fn == "IS_NUMBER") return Bool(v.v->is_number());
      if (e.fn == "IS_STRING") return Bool(v.v->is_string());
      return Bool(!v.v->is_object() && !v.v->is_array());  // IS_PRIMITIVE
    }
  }
  return Tri::kUndef;
}

json::array NaiveRun(const TQuery& q, const RandomGraph& g) {
  std::map<std::string, const SnapshotTwin*> by_id;
  for (const auto& t : g.twins()) by_id[t.id] = &t;
  std::size_t bindings = 1 + 2 * q.joins.size();
  std::vector<NaiveRow> rows;
  for (const auto& t : g.twins()) {
    NaiveRow row{std::vector<const SnapshotTwin*>(bindings),
                 std::vector<const SnapshotRel*>(bindings)};
    row.twins[0] = &t;
    if (!q.relationships) rows.push_back(row);
  }
  for (const auto& rel : g.rels()) {
    if (!q.relationships) break;
    NaiveRow row{std::vector<const SnapshotTwin*>(1), std::vector<const SnapshotRel*>(1)};
    row.rels[0] = &rel;
    rows.push_back(row);
  }
  for (std::size_t j = 0; j < q.joins.size(); ++j) {
    std::vector<NaiveRow> next;
    for (const NaiveRow& row : rows) {
      for (const auto& rel : g.rels()) {  // sorted by (source, id)
        if (rel.source != row.twins[q.joins[j].source]->id || rel.name != q.joins[j].name) continue;
        auto target = by_id.find(rel.target);
        if (target == by_id.end()) continue;
        NaiveRow extended = row;
        extended.twins[2 * j + 1] = target->second;
        extended.rels[2 * j + 2] = &rel;
        next.push_back(std::move(extended));
      }
    }
    rows = std::move(next);
  }
  json::array out;
  std::size_t count = 0;
  for (const NaiveRow& row : rows) {
    if (q.where && NaiveEval(*q.where, row) != Tri::kTrue) continue;
    ++count;
    if (q.select == TQuery::kCount) continue;
    if (q.top && out.size() >= static_cast<std::size_t>(*q.top)) break;
    if (q.select == TQuery::kStar) {
      out.push_back(q.relationships ? row.rels[0]->doc : row.twins[0]->doc);
      continue;
    }
    json::object projected;
    for (const auto& [path, as] : q.columns) {
      NaiveValue v = Lookup(path, row);
      std::string name = !as.empty()         ? as
                         : path.segs.empty() ? AliasName(path.binding)
                                             : path.segs.back();
      if (v.whole_doc) {
        projected[name] =
            row.twins[path.binding] ? row.twins[path.binding]->doc : row.rels[path.binding]->doc;
      } else if (v.v != nullptr) {
        projected[name] = *v.v;
      }
    }
    out.push_back(std::move(projected));
  }
  if (q.select == TQuery::kCount) out.push_back(json::object{{"COUNT", count}});
  return out;
}

// ---------------------------------------------------------------- random queries

class QueryGenerator {
 public:
  QueryGenerator(std::mt19937& rng, std::vector<std::string> ids)
      : rng_(rng), ids_(std::move(ids)) {}

  TQuery Next() {
    TQuery q;
    relationships_ = q.relationships = Chance(15);
    int joins = !relationships_ && Chance(40) ? Uniform(1, 2) : 0;
    for (int j = 0; j < joins; ++j) {
      q.joins.push_back({j == 0 || Chance(50) ? 0 : 2 * (j - 1) + 1, Chance(60) ? "r1" : "r2"});
    }
    bindings_ = 1 + 2 * joins;
    int select = Uniform(0, 9);
    if (select < 2) {
      q.select = TQuery::kCount;
    } else if (select < 6 && joins == 0) {
      q.select = TQuery::kStar;
    } else {
      q.select = TQuery::kColumns;
      int columns = Uniform(1, 3);
      for (int i = 0; i < columns; ++i) {
        TPath p = RandomPath(Uniform(0, bindings_ - 1));
        if (Chance(25)) p.segs.clear();
        q.columns.push_back({p, p.segs.empty() && Chance(50) ? "" : fmt::format("col{}", i)});
      }
      // A bare alias keeps its name; make sure no two columns collide.
      std::set<std::string> seen;
      for (std::size_t i = 0; i < q.columns.size(); ++i) {
        auto& [p, as] = q.columns[i];
        if (as.empty() && !seen.insert(AliasName(p.binding)).second) as = fmt::format("dup{}", i);
      }
    }
    if (q.select != TQuery::kCount && Chance(20)) q.top = Uniform(1, 6);
    if (Chance(85)) q.where = TopLevel();
    return q;
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Uniform(0, 99) < percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Uniform(0, static_cast<int>(v.size()) - 1)];
  }

  bool IsTwin(int binding) const { return binding % 2 == 1 || (binding == 0 && !relationships_); }
  int RandomTwinBinding() {
    int b = Uniform(0, bindings_ - 1);
    return IsTwin(b) ? b : b - 1;
  }

  TPath RandomPath(int binding) {
    static const std::vector<std::vector<std::string>> twin_paths = {
        {"$dtId"},   {"p"}, {"q"}, {"s"}, {"flag"}, {"c", "x"}, {"c"}, {"$metadata", "$model"},
        {"missing"}, {"b"}, {"e"}};
    static const std::vector<std::vector<std::string>> rel_paths = {
        {"w"}, {"$relationshipName"}, {"$targetId"}, {"$sourceId"}, {"$relationshipId"}};
    return TPath{binding, IsTwin(binding) ? Pick(twin_paths) : Pick(rel_paths)};
  }

  json::value RandomLiteral(const TPath& p) {
    if (!p.segs.empty() &&
        (p.segs[0] == "$dtId" || p.segs[0] == "$targetId" || p.segs[0] == "$sourceId") &&
        Chance(80)) {
      return json::value(Pick(ids_));
    }
    if (!p.segs.empty() && p.segs.back() == "$model" && Chance(80))
      return json::value(Pick(kModels));
    switch (Uniform(0, 6)) {
      case 0:
        return json::value(Uniform(-1, 4));
      case 1:
        return json::value(Uniform(0, 3) + 0.5);
      case 2:
        return json::value(static_cast<double>(Uniform(0, 3)));
      case 3:
        return json::value(Pick(kStrings));
      case 4:
        return json::value(Chance(50));
      case 5:
        return json::value(nullptr);
      default:
        return json::value(Pick(std::vector<std::string>{"r1", "r2", "e1", "a1"}));
    }
  }

  TExpr Atom() {
    TExpr e;
    int kind = Uniform(0, 9);
    int binding = Uniform(0, bindings_ - 1);
    e.path = RandomPath(binding);
    static const std::vector<std::string> ops = {"=", "!=", "<", "<=", ">", ">="};
    if (kind <= 3) {
      e.kind = TExpr::kCmp;
      e.op = Pick(ops);
      e.literal = RandomLiteral(e.path);
      e.literal_first = Chance(20);
    } else if (kind == 4) {
      e.kind = TExpr::kIn;
      e.negated = Chance(40);
      for (int i = Uniform(0, 3); i > 0; --i) e.list.push_back(RandomLiteral(e.path));
    } else if (kind == 5 && relationships_) {
      e.kind = TExpr::kFn;
      e.fn = "IS_DEFINED";
    } else if (kind == 5) {
      e.kind = TExpr::kIsOfModel;
      e.path = TPath{RandomTwinBinding(), {}};
      e.model = Pick(kModels);
      e.exact = Chance(30);
    } else if (kind == 6) {
      e.kind = TExpr::kFn;
      e.fn = Pick(std::vector<std::string>{"STARTSWITH", "ENDSWITH", "CONTAINS"});
      e.literal = json::value(Pick(std::vector<std::string>{"a", "ab", "t1", "1", "s", "S", ""}));
    } else if (kind == 7) {
      e.kind = TExpr::kCmpPaths;
      e.op = Pick(ops);
      e.path2 = RandomPath(Uniform(0, bindings_ - 1));
    } else {
      e.kind = TExpr::kFn;
      e.fn = Pick(std::vector<std::string>{"IS_DEFINED", "IS_NULL", "IS_PRIMITIVE", "IS_BOOL",
                                           "IS_NUMBER", "IS_STRING", "IS_OBJECT"});
      if (Chance(20)) e.path.segs.clear();
    }
    return e;
  }

  TExpr Tree(int depth) {
    if (depth == 0 || Chance(50)) return Atom();
    TExpr e;
    int kind = Uniform(0, 2);
    if (kind == 2) {
      e.kind = TExpr::kNot;
      e.kids.push_back(Tree(depth - 1));
      return e;
    }
    e.kind = kind == 0 ? TExpr::kAnd : TExpr::kOr;
    for (int i = Uniform(2, 3); i > 0; --i) e.kids.push_back(Tree(depth - 1));
    return e;
  }

  // Something an index can serve, on T or (for the join pin) on C0.
  // FROM RELATIONSHIPS: what picks source twins, and a few plain filters.
  TExpr IndexableRelationship() {
    TExpr e;
    e.path = TPath{0, {Pick(std::vector<std::string>{"$sourceId", "$targetId"})}};
    if (Chance(60)) {
      e.kind = TExpr::kCmp;
      e.op = "=";
      e.literal = json::value(Pick(ids_));
      return e;
    }
    if (Chance(70)) {
      e.kind = TExpr::kIn;
      for (int i = Uniform(0, 3); i > 0; --i) e.list.push_back(json::value(Pick(ids_)));
      return e;
    }
    e.kind = TExpr::kCmp;
    e.op = "=";
    e.path = TPath{0, {Pick(std::vector<std::string>{"w", "$relationshipName"})}};
    e.literal = Chance(50) ? json::value(Uniform(0, 4)) : json::value(Chance(50) ? "r1" : "r2");
    return e;
  }

  TExpr Indexable() {
    if (relationships_) return IndexableRelationship();
    TExpr e;
    int binding = bindings_ > 1 && Chance(25) ? 1 : 0;
    switch (Uniform(0, 5)) {
      case 0:
        e.kind = TExpr::kCmp;
        e.op = "=";
        e.path = TPath{binding, {"$dtId"}};
        e.literal = json::value(Chance(85) ? Pick(ids_) : "nope");
        e.literal_first = Chance(30);
        return e;
      case 1:
        e.kind = TExpr::kIn;
        e.path = TPath{binding, {"$dtId"}};
        for (int i = Uniform(0, 4); i > 0; --i) e.list.push_back(json::value(Pick(ids_)));
        if (Chance(20)) e.list.push_back(json::value(3));
        return e;
      case 2:
        e.kind = TExpr::kFn;
        e.fn = "STARTSWITH";
        e.path = TPath{0, {"$dtId"}};
        e.literal =
            json::value(Pick(std::vector<std::string>{"a", "ab", "b", "t", "t1", "t2", "z", ""}));
        return e;
      case 3:
        e.kind = TExpr::kIsOfModel;
        e.path = TPath{0, {}};
        e.model = Pick(kModels);
        e.exact = Chance(30);
        return e;
      case 4:
        e.kind = TExpr::kCmp;
        e.op = "=";
        e.path = TPath{0, {"$metadata", "$model"}};
        e.literal = json::value(Pick(kModels));
        return e;
      default:
        e.kind = TExpr::kCmp;
        e.op = "=";
        e.path = TPath{Chance(60) ? 0 : RandomTwinBinding(),
                       {Pick(std::vector<std::string>{"p", "q", "s", "flag"})}};
        e.literal = RandomLiteral(e.path);
        return e;
    }
  }

  TExpr TopLevel() {
    if (Chance(30)) return Tree(3);
    TExpr all;
    all.kind = TExpr::kAnd;
    for (int i = Uniform(1, 2); i > 0; --i) all.kids.push_back(Indexable());
    for (int i = Uniform(0, 2); i > 0; --i) all.kids.push_back(Tree(2));
    if (all.kids.size() == 1) return all.kids[0];
    return all;
  }

  std::mt19937& rng_;
  std::vector<std::string> ids_;
  int bindings_ = 1;
  bool relationships_ = false;
};

// Runs `text` through Execute page by page and concatenates the rows.
json::array RunPaged(const twin::TwinGraph& graph, const std::string& text, std::size_t page_size) {
  QueryOptions options;
  options.page_size = page_size;
  json::array rows;
  for (int pages = 0; pages < 10000; ++pages) {
    auto page = Execute(graph, text, options);
    EXPECT_TRUE(page.ok()) << text << ": " << page.status().ToString();
    if (!page.ok()) break;
    for (auto& row : page->value) rows.push_back(row);
    if (page->continuation_token.empty()) break;
    EXPECT_FALSE(page->value.empty()) << text;
    options.continuation_token = page->continuation_token;
  }
  return rows;
}

// 30 graphs × 150 queries by default; DOPPEL_QUERY_DIFF_SEEDS=<n> runs n graphs (a soak).
uint32_t Seeds() {
  const char* env = std::getenv("DOPPEL_QUERY_DIFF_SEEDS");
  return env != nullptr && std::atoi(env) > 0 ? static_cast<uint32_t>(std::atoi(env)) : 30;
}

TEST(DifferentialTest, ExecuteMatchesNaiveEvaluator) {
  int compared = 0, nonempty = 0;
  const uint32_t seeds = Seeds();
  for (uint32_t seed = 1; seed <= seeds; ++seed) {
    std::mt19937 rng(seed);
    RandomGraph graph(rng);
    graph.Build();
    if (::testing::Test::HasFatalFailure()) return;
    QueryGenerator generator(rng, graph.ids());
    for (int i = 0; i < 150; ++i) {
      TQuery q = generator.Next();
      std::string text = Render(q);
      json::array expected = NaiveRun(q, graph);
      std::size_t page_size = std::vector<std::size_t>{1, 2, 3, 7, 100}[rng() % 5];
      json::array got = RunPaged(graph.graph(), text, page_size);
      ASSERT_EQ(got, expected) << "seed " << seed << ", query " << i << ", page size " << page_size
                               << ":\n  " << text;
      ++compared;
      if (!expected.empty() && !(q.select == TQuery::kCount && expected[0].at("COUNT") == 0)) {
        ++nonempty;
      }
    }
  }
  // The generator must produce queries that find something, or the comparison is hollow.
  EXPECT_EQ(compared, static_cast<int>(seeds) * 150);
  EXPECT_GT(nonempty, compared / 4) << nonempty << " of " << compared << " had rows";
}

}  // namespace
}  // namespace doppel::query
