#include "model/internal/resolver.h"

#include <fmt/format.h>

namespace doppel::model::internal {
namespace {

// The longest `extends` chain DTDL allows (v2 and v3).
constexpr int kMaxExtendsDepth = 10;
// DTDL v3's limit on all `extends` values in one interface's hierarchy.
constexpr std::size_t kMaxExtendsValues = 1024;

class Resolver {
 public:
  explicit Resolver(Batch& batch) : batch_(batch) {}

  void Run() {
    for (auto& d : batch_.drafts()) Visit(*d);
    for (auto& d : batch_.drafts()) CheckComponents(*d);
  }

 private:
  // Returns false if `d` could not be resolved (errors reported once, at the failing draft).
  bool Visit(Draft& d) {
    switch (d.state) {
      case Draft::State::kDone: return true;
      case Draft::State::kFailed: return false;
      case Draft::State::kVisiting:
        batch_.Error(d.iface->id, d.path, "extendsCycle",
                     fmt::format("'{}' extends itself (directly or through its bases)",
                                 d.iface->id));
        d.state = Draft::State::kFailed;
        return false;
      case Draft::State::kNew: break;
    }
    d.state = Draft::State::kVisiting;
    bool ok = true;
    for (const auto& ref : d.extends) ok &= Inherit(d, ref);
    if (d.state == Draft::State::kFailed) return false;
    ok &= AddOwn(d) && CheckExtendsCount(d);
    d.state = ok ? Draft::State::kDone : Draft::State::kFailed;
    return ok;
  }

  bool Inherit(Draft& d, const Reference& ref) {
    InterfacePtr base;
    int base_depth = 0;
    if (Draft* bd = batch_.FindDraft(ref.id)) {
      if (!Visit(*bd) || !SameOrEarlierVersion(d, *bd, ref.path)) return false;
      base = bd->iface;
      base_depth = bd->depth;
    } else if ((base = batch_.Known(ref.id))) {
      base_depth = KnownDepth(*base);
    } else {
      ReportMissing(d, ref, "extends");
      return false;
    }
    d.depth = std::max(d.depth, base_depth + 1);
    if (d.depth > kMaxExtendsDepth) {
      batch_.Error(d.iface->id, ref.path, "excessiveDepth",
                   fmt::format("the extends hierarchy is deeper than {}", kMaxExtendsDepth));
      return false;
    }
    d.iface->ancestors.insert(base->id);
    d.iface->ancestors.insert(base->ancestors.begin(), base->ancestors.end());
    bool ok = true;
    for (const auto& [name, content] : base->contents) ok &= Add(d, content, ref.path);
    return ok;
  }

  // DTDL v3: at most 1024 `extends` values in the whole hierarchy above an interface.
  bool CheckExtendsCount(const Draft& d) {
    if (d.scope.version < 3) return true;
    std::size_t total = d.iface->extends.size();
    for (const auto& a : d.iface->ancestors) {
      if (Draft* ad = batch_.FindDraft(a)) {
        total += ad->iface->extends.size();
      } else if (auto k = batch_.Known(a)) {
        total += k->extends.size();
      }
    }
    if (total <= kMaxExtendsValues) return true;
    batch_.Error(d.iface->id, d.path, "tooManyExtends",
                 fmt::format("the extends hierarchy has {} values; the limit is {}", total,
                             kMaxExtendsValues));
    return false;
  }

  // A DTDL v3 interface may build on v2 ones, not the other way round.
  bool SameOrEarlierVersion(const Draft& d, const Draft& base, const std::string& path) {
    if (base.scope.version <= d.scope.version) return true;
    batch_.Error(d.iface->id, path, "versionMismatch",
                 fmt::format("DTDL v{} interface '{}' cannot use DTDL v{} interface '{}'",
                             d.scope.version, d.iface->id, base.scope.version, base.iface->id));
    return false;
  }

  int KnownDepth(const Interface& i) {
    int depth = 0;
    for (const auto& e : i.extends) {
      if (auto b = batch_.Known(e)) depth = std::max(depth, KnownDepth(*b) + 1);
    }
    return depth;
  }

  void ReportMissing(Draft& d, const Reference& ref, std::string_view what) {
    if (const Definition* def = batch_.FindDefinition(ref.id)) {
      batch_.Error(d.iface->id, ref.path, "notAnInterface",
                   fmt::format("'{}' ({}) is not an Interface", ref.id, def->path));
    } else {
      batch_.Error(d.iface->id, ref.path, "unresolvedReference",
                   fmt::format("{} names '{}', which is neither in the batch nor known", what,
                               ref.id));
    }
  }

  bool AddOwn(Draft& d) {
    bool ok = true;
    for (std::size_t i = 0; i < d.own.size(); ++i) ok &= Add(d, d.own[i], d.own_paths[i]);
    return ok;
  }

  bool Add(Draft& d, const Content& c, const std::string& path) {
    auto [it, inserted] = d.iface->contents.try_emplace(c.name, c);
    if (inserted) return true;
    // Diamond inheritance brings the same content twice: that is not a clash.
    if (it->second.defined_in == c.defined_in && !c.defined_in.empty()) return true;
    batch_.Error(d.iface->id, path, "duplicateContentName",
                 fmt::format("content name '{}' is used twice (also in '{}')", c.name,
                             it->second.defined_in));
    return false;
  }

  void CheckComponents(Draft& d) {
    for (std::size_t i = 0; i < d.own.size(); ++i) {
      const Content& c = d.own[i];
      if (c.kind != ContentKind::kComponent) continue;
      const std::string& path = d.own_paths[i];
      InterfacePtr target;
      if (Draft* td = batch_.FindDraft(c.component_interface)) {
        if (!SameOrEarlierVersion(d, *td, path)) continue;
        target = td->iface;
      } else if (!(target = batch_.Known(c.component_interface))) {
        ReportMissing(d, Reference{c.component_interface, path}, "a Component's schema");
        continue;
      }
      for (const auto& [name, tc] : target->contents) {
        if (tc.kind == ContentKind::kComponent) {
          batch_.Error(d.iface->id, path, "nestedComponent",
                       fmt::format("component '{}' uses '{}', which itself has component '{}'",
                                   c.name, target->id, name));
          break;
        }
      }
    }
  }

  Batch& batch_;
};

}  // namespace

void ResolveInterfaces(Batch& batch) { Resolver(batch).Run(); }

}  // namespace doppel::model::internal
