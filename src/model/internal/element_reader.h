// Reading one DTDL element (a JSON-LD node object) against the metamodel: its @context, @id,
// @type (class, semantic type, other co-types) and every member — given by term ("name") or
// by DTMI ("dtmi:dtdl:property:name;2") — with DTDL's rules for values, counts and members the
// class does not define.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "model/internal/batch.h"
#include "model/internal/metamodel.h"
#include "model/model.h"

namespace doppel::model::internal {

// Applies an element's "@context" (may be null) on top of `parent`. At the top level a DTDL
// context is required.
Scope ReadContext(Batch& batch, const json::value* context, const Scope& parent,
                  const Where& where, bool top_level);

// What a member slot accepts.
struct Slot {
  ClassSet allowed = 0;
  ElementClass implied = ElementClass::kNone;  // the class when @type is left out (if allowed)
  bool top_level = false;
  int parent_version = 0;  // 0: no parent (top level)
  std::string_view member;  // the parent's member holding this element
};

class ElementReader;
// The slot of member `member` of `parent`.
Slot ChildSlot(const ElementReader& parent, std::string_view member, ClassSet allowed,
               ElementClass implied = ElementClass::kNone);

class ElementReader {
 public:
  // Reads the element and reports every rule it breaks. ok() is false when its class could not
  // be established; member values are then unavailable.
  ElementReader(Batch& batch, const json::object& object, const Scope& parent, Where where,
                Slot slot);

  bool ok() const { return spec_ != nullptr; }
  ElementClass cls() const { return cls_; }
  const std::string& id() const { return id_; }
  bool has_id_member() const { return object_.contains("@id"); }
  const std::vector<std::string>& cotypes() const { return cotypes_; }
  const std::string& semantic_type() const { return semantic_type_; }
  Batch& batch() const { return batch_; }
  const Scope& scope() const { return scope_; }
  const Where& where() const { return where_; }
  const json::object& object() const { return object_; }
  int version() const { return scope_.version; }
  std::string Path(std::string_view member) const;
  void set_model_id(std::string_view id) { where_.model_id = id; }

  // A member's checked value (singletons unwrapped); nullptr if absent or invalid.
  const json::value* Get(std::string_view term) const;
  // The values a list member includes, with their paths.
  std::vector<std::pair<const json::value*, std::string>> Values(std::string_view term) const;
  std::string String(std::string_view term) const;
  LocalizedText Localized(std::string_view term) const;
  std::optional<bool> Bool(std::string_view term) const;
  std::optional<int64_t> Integer(std::string_view term) const;

  void Error(std::string_view rule, std::string message, std::string_view member = {}) const;

 private:
  struct Member {
    const MemberSpec* spec;
    const json::value* value;
    std::string_view key;
  };

  bool CheckVersion(const Slot& slot);
  bool ReadType(const Slot& slot);
  bool ClassifyCotype(std::string_view type);
  void ReadId();
  void ReadMembers();
  const MemberSpec* SpecFor(std::string_view key) const;
  bool CheckValue(const MemberSpec& spec, const json::value& raw, std::string_view key,
                  const json::value*& out);
  bool CheckCount(const MemberSpec& spec, const json::value& raw, std::string_view key,
                  const json::value*& single);
  bool CheckElements(const MemberSpec& spec, const json::value& raw, std::string_view key);
  bool CheckElementValue(const MemberSpec& spec, const json::value& v, std::string_view key);
  std::string ScalarError(const MemberSpec& spec, const json::value& v) const;
  void CheckUndefinedMember(std::string_view key);
  void CheckSemanticType();
  bool Allowed(bool informal_ok) const { return informal_ok && informally_cotyped_; }

  Batch& batch_;
  const json::object& object_;
  Scope scope_;
  Where where_;
  const ClassSpec* spec_ = nullptr;
  ElementClass cls_ = ElementClass::kNone;
  std::string id_;
  std::vector<std::string> cotypes_;
  std::string semantic_type_;
  bool informally_cotyped_ = false;
  std::vector<Member> members_;
};

}  // namespace doppel::model::internal
