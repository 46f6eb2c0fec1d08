// distributed.cpp - Group: c10d rendezvous (TCPStore) and collectives (ProcessGroupGloo, or ProcessGroupNCCL when
// libmlt is built against a CUDA libtorch with NCCL). Every c10d or Gloo failure leaves here as a DistributedError
// whose message names the rank, the address and port, and the backend.
#include "distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef MLT_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <algorithm>
#include <sstream>
#include <thread>
#include <vector>

#include "engine.h"

namespace mlt {

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef MLT_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif

  template <class Launch>
  auto run(Launch&& launch) {
#ifdef MLT_WITH_NCCL
    if (nccl) return launch(*nccl);
#endif
    return launch(*gloo);
  }
};

namespace {

// c10d's work handle (ProcessGroup::Work in libtorch 1.13, c10d::Work in 2.x).
using WorkPtr = decltype(std::declval<c10d::ProcessGroupGloo&>().barrier(c10d::BarrierOptions()));

/// The Gloo device (network interface) of this rank. As PyTorch: GLOO_SOCKET_IFNAME names the interface;
/// otherwise a loopback master address binds the loopback address, and anything else this host's name.
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& addr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
    std::string first(ifname);
    first = first.substr(0, first.find(','));
    return c10d::ProcessGroupGloo::createDeviceForInterface(first);
  }
  if (addr == "127.0.0.1" || addr == "localhost" || addr == "::1")
    return c10d::ProcessGroupGloo::createDeviceForHostname(addr);
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

[[noreturn]] void rethrow(const std::string& where, const char* doing) {
  try {
    throw;
  } catch (const c10::Error& e) {
    throw DistributedError(cat(where, ": ", doing, " failed: ", e.what_without_backtrace()));
  } catch (const DistributedError&) {
    throw;
  } catch (const std::exception& e) {
    throw DistributedError(cat(where, ": ", doing, " failed: ", e.what()));
  }
}

}  // namespace

Group::Group(const std::string& addr, int port, int rank, int world, std::chrono::milliseconds timeout,
             const std::string& backend)
    : impl_(std::make_unique<Impl>()), rank_(rank), world_(world) {
  if (addr.empty()) fail_arg("master address must not be empty");
  if (port < 1 || port > 65535) fail_arg("master port must be in [1, 65535] (got ", port, ")");
  if (world < 1) fail_arg("world size must be >= 1 (got ", world, ")");
  if (rank < 0 || rank >= world) fail_arg("rank must be in [0, ", world, ") (got ", rank, ")");
  if (timeout.count() <= 0) fail_arg("timeout must be positive (got ", timeout.count(), " ms)");
  if (backend != "gloo" && backend != "nccl") fail_arg("backend must be 'gloo' or 'nccl' (got '", backend, "')");
#ifndef MLT_WITH_NCCL
  if (backend == "nccl")
    throw DeviceError("backend 'nccl' requested but libmlt was built without NCCL (a CPU libtorch); use 'gloo'");
#endif
  const std::string file_prefix = "file://";
  const bool via_file = addr.rfind(file_prefix, 0) == 0;  // a rendezvous file instead of rank 0's TCP store
  where_ = via_file ? cat("rank ", rank, " of ", world, " at ", addr, " (", backend, ")")
                    : cat("rank ", rank, " of ", world, " at ", addr, ":", port, " (", backend, ")");

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (via_file) {
    const std::string path = addr.substr(file_prefix.size());
    if (path.empty()) fail_arg("master address 'file://' names no file");
    try {
      auto file = c10::make_intrusive<c10d::FileStore>(path, world);
      file->setTimeout(timeout);
      impl_->store = c10::make_intrusive<c10d::PrefixStore>("mlt", file);
    } catch (...) {
      rethrow(where_, "opening the rendezvous file");
    }
  } else {
    try {
      c10d::TCPStoreOptions opts;
      opts.port = static_cast<std::uint16_t>(port);
      opts.isServer = rank == 0;
      opts.waitWorkers = false;  // the join below waits, with a message that counts who came
      opts.timeout = timeout;
      auto tcp = c10::make_intrusive<c10d::TCPStore>(addr, opts);
      impl_->store = c10::make_intrusive<c10d::PrefixStore>("mlt", tcp);
    } catch (...) {
      rethrow(where_, rank == 0 ? "serving the rendezvous store" : "connecting to the rendezvous store");
    }
  }

  // Join: every rank counts itself in, then waits until the world is full or the deadline passes.
  int64_t joined = 0;
  try {
    joined = impl_->store->add("joined", 1);
    while (joined < world && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      joined = impl_->store->add("joined", 0);
    }
  } catch (...) {
    rethrow(where_, "joining the group");
  }
  if (joined < world)
    throw DistributedError(cat(where_, ": only ", joined, " of ", world, " ranks joined within ", timeout.count(),
                               " ms; start every rank with the same master address, port and world size"));
  impl_->store->setTimeout(timeout);

  try {
#ifdef MLT_WITH_NCCL
    if (backend == "nccl") {
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, rank, world, o);
      return;
    }
#endif
    auto o = c10d::ProcessGroupGloo::Options::create(timeout);
    o->devices.push_back(gloo_device(via_file ? std::string("127.0.0.1") : addr));
    o->threads = 2;
    impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, rank, world, o);
  } catch (...) {
    rethrow(where_, "connecting the ranks to each other");
  }
}

Group::~Group() = default;

bool Group::uses_cuda() const {
#ifdef MLT_WITH_NCCL
  return static_cast<bool>(impl_->nccl);
#else
  return false;
#endif
}

void Group::allreduce_sum(std::vector<at::Tensor>& tensors) {
  const auto start = std::chrono::steady_clock::now();
  try {
    std::vector<WorkPtr> works;
    works.reserve(tensors.size());
    for (at::Tensor& t : tensors) {
      std::vector<at::Tensor> one{t};
      c10d::AllreduceOptions opts;
      opts.reduceOp = c10d::ReduceOp::SUM;
      works.push_back(impl_->run([&](auto& pg) { return pg.allreduce(one, opts); }));
      stats_.allreduce_bytes += t.numel() * static_cast<int64_t>(t.element_size());
      ++stats_.allreduce_calls;
    }
    for (auto& w : works) w->wait();
  } catch (...) {
    rethrow(where_, "all-reduce");
  }
  stats_.allreduce_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Group::broadcast(at::Tensor& tensor, int root) {
  if (root < 0 || root >= world_) fail_arg("broadcast root must be in [0, ", world_, ") (got ", root, ")");
  try {
    std::vector<at::Tensor> one{tensor};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    impl_->run([&](auto& pg) { return pg.broadcast(one, opts); })->wait();
  } catch (...) {
    rethrow(where_, "broadcast");
  }
}

void Group::barrier() {
  try {
    impl_->run([&](auto& pg) { return pg.barrier(c10d::BarrierOptions()); })->wait();
  } catch (...) {
    rethrow(where_, "barrier");
  }
}

}  // namespace mlt
