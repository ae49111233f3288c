// Test support: a real Modbus TCP server written with libmodbus' own server API
// (modbus_new_tcp, modbus_tcp_listen, modbus_receive, modbus_reply over a modbus_mapping_t), on
// a free loopback port, served by a thread of the test process. It holds a simulated machine:
//
//   input registers 0      a counter that grows by one every tick (uint16)
//   input registers 1..2   spindle speed, float32 big-endian (ABCD): 1500 + counter % 10
//   holding registers      setpoints, written by the client (all start at 0)
//   coils                  written by the client (commands)
//
// Tests can set and read every table directly, mute the server (it reads requests and never
// answers, for timeouts) and stop and restart it on the same port (reconnects).
//
//   auto server = doppel::testing::ModbusServer::Start().value();
//   int port = server->port();
//   server->Stop();  ASSERT_TRUE(server->Restart().ok());   // same port
//   // ~ModbusServer: Stop()
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "base/status.h"

struct _modbus;
struct _modbus_mapping_t;

namespace doppel::testing {

struct ModbusServerOptions {
  int port = 0;  // 0 = a free port chosen by the kernel
  // How often the simulated machine advances; 0 = never (the tables change only by tests).
  std::chrono::milliseconds tick{20};
  int table_size = 128;  // entries in each of the four tables, addresses 0..table_size-1
};

class ModbusServer {
 public:
  static Result<std::unique_ptr<ModbusServer>> Start(ModbusServerOptions options = {});
  ~ModbusServer();
  ModbusServer(const ModbusServer&) = delete;
  ModbusServer& operator=(const ModbusServer&) = delete;

  int port() const { return port_; }

  // Closes the listening socket and every client connection; the tables are kept.
  void Stop();
  // Listens again on the same port. Errors: Unavailable if the port cannot be bound.
  Status Restart();

  // While muted, requests are read and dropped: clients time out.
  void SetMuted(bool muted) { muted_ = muted; }
  // Stops (false) or resumes (true) the simulated machine's ticks.
  void SetSimulating(bool on) { simulating_ = on; }

  uint16_t counter() const;  // input register 0
  void SetInputRegister(int address, uint16_t value);
  void SetHoldingRegister(int address, uint16_t value);
  void SetCoil(int address, bool value);
  void SetDiscreteInput(int address, bool value);
  uint16_t HoldingRegister(int address) const;
  bool Coil(int address) const;
  uint64_t requests_answered() const { return answered_; }

 private:
  explicit ModbusServer(ModbusServerOptions options);
  Status Listen();
  void Serve();
  void Tick();
  void CloseAll();

  ModbusServerOptions options_;
  int port_ = 0;
  mutable std::mutex mu_;
  _modbus_mapping_t* mapping_ = nullptr;  // guarded by mu_
  _modbus* ctx_ = nullptr;                // used by the serving thread only while it runs
  int listen_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> muted_{false};
  std::atomic<bool> simulating_{true};
  std::atomic<uint64_t> answered_{0};
};

}  // namespace doppel::testing
