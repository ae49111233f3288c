#include "sim/fmi/fmu_registry.h"

#include "base/file_io.h"
#include "sim/binding.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "sim/fmi/model_description.h"

namespace doppel::sim::fmi {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStagingPrefix = ".staging-";

void RemoveAll(const fs::path& path) {
  std::error_code ignored;  // best effort: a leftover is removed again on the next Open
  fs::remove_all(path, ignored);
}

std::string CatalogName(std::string_view name) { return fmt::format("fmu:{}", name); }

}  // namespace

FmuRegistry::FmuRegistry(FmuRegistryOptions options, ModelCatalog& catalog)
    : options_(std::move(options)), catalog_(catalog) {}

Status FmuRegistry::ValidateName(std::string_view name) {
  if (IsValidName(name)) return Status::Ok();
  return Status::InvalidArgument(
      fmt::format("FMU name '{}' is invalid: use 1 to 64 letters, digits, '_' or '-'", name));
}

Result<std::unique_ptr<FmuRegistry>> FmuRegistry::Open(FmuRegistryOptions options,
                                                       ModelCatalog& catalog) {
  std::error_code ec;
  fs::create_directories(options.directory, ec);
  if (ec)
    return Status::Internal(
        fmt::format("cannot create {}: {}", options.directory.string(), ec.message()));
  std::unique_ptr<FmuRegistry> registry(new FmuRegistry(std::move(options), catalog));
  std::vector<std::string> stored;
  for (const auto& entry : fs::directory_iterator(registry->options_.directory, ec)) {
    std::string file = entry.path().filename().string();
    if (file.starts_with(kStagingPrefix)) {
      RemoveAll(entry.path());  // an Add that did not finish
    } else if (entry.path().extension() == ".fmu") {
      stored.push_back(entry.path().stem().string());
    }
  }
  if (ec)
    return Status::Internal(
        fmt::format("cannot list {}: {}", registry->options_.directory.string(), ec.message()));
  std::sort(stored.begin(), stored.end());
  for (const auto& name : stored) {
    Status status = registry->LoadStored(name);
    if (status.ok()) continue;
    Status error =
        Status::Internal(fmt::format("FMU '{}' could not be reloaded: {}", name, status.message()));
    spdlog::warn("{}", error.message());
    registry->load_errors_.push_back(std::move(error));
  }
  return registry;
}

Result<std::shared_ptr<const FmuModel>> FmuRegistry::Unpack(const std::string& name,
                                                            std::string_view fmu_bytes,
                                                            const fs::path& directory) const {
  RemoveAll(directory);
  DOPPEL_RETURN_IF_ERROR(UnpackFmu(fmu_bytes, directory, options_.archive));
  DOPPEL_ASSIGN_OR_RETURN(std::string xml, ReadFile((directory / "modelDescription.xml").string()));
  DOPPEL_ASSIGN_OR_RETURN(ModelDescription md, ParseModelDescription(xml));
  md.info.name = CatalogName(name);
  DOPPEL_ASSIGN_OR_RETURN(fs::path binary, FmuBinaryPath(directory, md.model_identifier));
  auto model = std::make_shared<FmuModel>();
  model->name = name;
  model->description = std::move(md);
  model->directory = directory;
  model->binary = std::move(binary);
  model->host = options_.host;
  return std::shared_ptr<const FmuModel>(std::move(model));
}

void FmuRegistry::Register(std::shared_ptr<const FmuModel> model) {
  ModelInfo info = model->description.info;
  catalog_.Register(std::move(info), [model]() -> Result<std::unique_ptr<Simulation>> {
    DOPPEL_ASSIGN_OR_RETURN(auto sim, FmuSimulation::Create(model));
    return std::unique_ptr<Simulation>(std::move(sim));
  });
  if (std::find(names_.begin(), names_.end(), model->name) == names_.end()) {
    names_.push_back(model->name);
    std::sort(names_.begin(), names_.end());
  }
}

Status FmuRegistry::LoadStored(const std::string& name) {
  DOPPEL_RETURN_IF_ERROR(ValidateName(name));
  DOPPEL_ASSIGN_OR_RETURN(std::string bytes, ReadFile((options_.directory / (name + ".fmu")).string()));
  DOPPEL_ASSIGN_OR_RETURN(auto model, Unpack(name, bytes, options_.directory / name));
  Register(std::move(model));
  return Status::Ok();
}

Result<ModelInfo> FmuRegistry::Add(std::string_view name_view, std::string_view fmu_bytes) {
  DOPPEL_RETURN_IF_ERROR(ValidateName(name_view));
  if (fmu_bytes.size() > options_.max_upload_bytes)
    return Status::PayloadTooLarge(fmt::format("FMU is {} bytes, over the limit of {}",
                                               fmu_bytes.size(), options_.max_upload_bytes));
  std::string name(name_view);
  std::lock_guard lock(mu_);
  fs::path staging = options_.directory / fmt::format("{}{}", kStagingPrefix, name);
  auto staged = Unpack(name, fmu_bytes, staging);
  Status status = staged.status();
  // Start it once: this finds missing FMI functions and a failing fmi2Instantiate now, with
  // the uploader waiting, rather than at the first scenario.
  if (status.ok()) status = FmuSimulation::Create(*staged).status();
  fs::path final_dir = options_.directory / name;
  if (status.ok()) status = WriteFileAtomically((options_.directory / (name + ".fmu")).string(), fmu_bytes);
  if (status.ok()) {
    RemoveAll(final_dir);
    std::error_code ec;
    fs::rename(staging, final_dir, ec);
    if (ec)
      status =
          Status::Internal(fmt::format("cannot rename {}: {}", staging.string(), ec.message()));
  }
  if (!status.ok()) {
    RemoveAll(staging);
    return status;
  }
  auto model = std::make_shared<FmuModel>(**staged);
  model->directory = final_dir;
  model->binary = final_dir / fs::relative(model->binary, staging);
  ModelInfo info = model->description.info;
  Register(std::move(model));
  return info;
}

Status FmuRegistry::Remove(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) return Status::NotFound(fmt::format("no FMU '{}'", name));
  catalog_.Remove(CatalogName(name));
  names_.erase(it);
  std::error_code ec;
  fs::remove(options_.directory / fmt::format("{}.fmu", name), ec);
  if (ec) return Status::Internal(fmt::format("cannot delete FMU '{}': {}", name, ec.message()));
  RemoveAll(options_.directory / std::string(name));
  return Status::Ok();
}

std::vector<std::string> FmuRegistry::Names() const {
  std::lock_guard lock(mu_);
  return names_;
}

std::vector<Status> FmuRegistry::load_errors() const {
  std::lock_guard lock(mu_);
  return load_errors_;
}

}  // namespace doppel::sim::fmi
