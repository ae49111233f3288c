#include "support/modbus_server.h"

#include <arpa/inet.h>
#include <modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace doppel::testing {

Result<std::unique_ptr<ModbusServer>> ModbusServer::Start(ModbusServerOptions options) {
  std::unique_ptr<ModbusServer> server(new ModbusServer(options));
  server->mapping_ = modbus_mapping_new(options.table_size, options.table_size, options.table_size,
                                        options.table_size);
  if (server->mapping_ == nullptr) return Status::Internal("modbus_mapping_new failed");
  server->port_ = options.port;
  server->Tick();  // the machine's registers hold values before the first request
  DOPPEL_RETURN_IF_ERROR(server->Listen());
  return server;
}

ModbusServer::ModbusServer(ModbusServerOptions options) : options_(options) {}

ModbusServer::~ModbusServer() {
  Stop();
  modbus_mapping_free(mapping_);
}

Status ModbusServer::Listen() {
  ctx_ = modbus_new_tcp("127.0.0.1", port_);
  if (ctx_ == nullptr) return Status::Internal("modbus_new_tcp failed");
  listen_fd_ = modbus_tcp_listen(ctx_, 8);
  if (listen_fd_ < 0) {
    std::string error = modbus_strerror(errno);
    modbus_free(ctx_);
    ctx_ = nullptr;
    return Status::Unavailable(fmt::format("modbus_tcp_listen on port {}: {}", port_, error));
  }
  sockaddr_in bound{};
  socklen_t length = sizeof bound;
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length) == 0) port_ = ntohs(bound.sin_port);
  running_ = true;
  thread_ = std::thread([this] { Serve(); });
  return Status::Ok();
}

void ModbusServer::Stop() {
  if (!running_.exchange(false)) return;
  thread_.join();
}

Status ModbusServer::Restart() {
  Stop();
  return Listen();
}

// One thread polls the listening socket and every client: requests are short and the tests'
// clients few, so a single-threaded server keeps the libmodbus context unshared.
void ModbusServer::Serve() {
  std::vector<int> clients;
  auto last_tick = std::chrono::steady_clock::now();
  uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
  while (running_) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    for (int fd : clients) fds.push_back({fd, POLLIN, 0});
    int ready = poll(fds.data(), fds.size(), 10);
    if (options_.tick.count() > 0 && std::chrono::steady_clock::now() - last_tick >= options_.tick) {
      last_tick = std::chrono::steady_clock::now();
      if (simulating_) Tick();
    }
    if (ready <= 0) continue;
    if (fds[0].revents & POLLIN) {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd >= 0) clients.push_back(fd);
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      modbus_set_socket(ctx_, fds[i].fd);
      int length = modbus_receive(ctx_, query);
      if (length > 0 && !muted_) {
        std::lock_guard lock(mu_);
        if (modbus_reply(ctx_, query, length, mapping_) > 0) ++answered_;
      } else if (length < 0) {
        close(fds[i].fd);
        std::erase(clients, fds[i].fd);
      }
    }
  }
  for (int fd : clients) close(fd);
  close(listen_fd_);
  listen_fd_ = -1;
  modbus_free(ctx_);
  ctx_ = nullptr;
}

void ModbusServer::Tick() {
  std::lock_guard lock(mu_);
  uint16_t counter = ++mapping_->tab_input_registers[0];
  // Big-endian (ABCD) by hand: the Modbus convention, high word first.
  const uint32_t bits = std::bit_cast<uint32_t>(1500.0f + static_cast<float>(counter % 10));
  mapping_->tab_input_registers[1] = static_cast<uint16_t>(bits >> 16);
  mapping_->tab_input_registers[2] = static_cast<uint16_t>(bits);
}

uint16_t ModbusServer::counter() const {
  std::lock_guard lock(mu_);
  return mapping_->tab_input_registers[0];
}

void ModbusServer::SetInputRegister(int address, uint16_t value) {
  std::lock_guard lock(mu_);
  mapping_->tab_input_registers[address] = value;
}

void ModbusServer::SetHoldingRegister(int address, uint16_t value) {
  std::lock_guard lock(mu_);
  mapping_->tab_registers[address] = value;
}

void ModbusServer::SetCoil(int address, bool value) {
  std::lock_guard lock(mu_);
  mapping_->tab_bits[address] = value ? 1 : 0;
}

void ModbusServer::SetDiscreteInput(int address, bool value) {
  std::lock_guard lock(mu_);
  mapping_->tab_input_bits[address] = value ? 1 : 0;
}

uint16_t ModbusServer::HoldingRegister(int address) const {
  std::lock_guard lock(mu_);
  return mapping_->tab_registers[address];
}

bool ModbusServer::Coil(int address) const {
  std::lock_guard lock(mu_);
  return mapping_->tab_bits[address] != 0;
}

}  // namespace doppel::testing
