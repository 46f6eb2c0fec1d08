// distributed.h - a process group of libmlt: rendezvous through c10d's TCPStore and collectives through
// c10d's ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA builds), the runtime PyTorch's DDP uses.
// Declared here without c10d's headers so only distributed.cpp pays for them.
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace mlt {

/// A rendezvous or collective failed (peer gone, timeout, address unusable) -> MLT_ERR_DISTRIBUTED.
struct DistributedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What a process group has moved so far (for the benchmark: all-reduce time per step).
struct GroupStats {
  double allreduce_seconds = 0;  // wall time inside all-reduce calls, waiting included
  int64_t allreduce_bytes = 0;   // payload bytes this rank contributed
  int64_t allreduce_calls = 0;   // collective calls (one per bucket)
};

class Group {
 public:
  /// Joins the group: rank 0 serves the TCPStore at addr:port, the others connect to it; every step waits at
  /// most timeout. backend: "gloo" or "nccl" (CUDA builds with NCCL only).
  Group(const std::string& addr, int port, int rank, int world, std::chrono::milliseconds timeout,
        const std::string& backend);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  /// Sums each tensor in place over the ranks (one collective per tensor, all in flight, then waited in order).
  /// Tensors must be dense, contiguous and on the group's kind of device.
  void allreduce_sum(std::vector<at::Tensor>& tensors);
  /// Copies root's tensor into every rank's (in place).
  void broadcast(at::Tensor& tensor, int root);
  void barrier();

  int rank() const { return rank_; }
  int world() const { return world_; }
  bool uses_cuda() const;
  /// "rank R of W at ADDR:PORT (backend)", the prefix of every error message.
  const std::string& where() const { return where_; }
  const GroupStats& stats() const { return stats_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_ = 1;
  std::string where_;
  GroupStats stats_;
};

}  // namespace mlt
