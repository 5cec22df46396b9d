// A RocksDB file system that fails writes and syncs on demand, for tests of
// the log's failure paths under the real RocksDB (RocksDbEventLogOptions::
// file_system), as LevelDB's SpecialEnv and ErrorEnv. Wraps the default
// file system; only files whose name ends with `suffix` (".log": RocksDB's
// write-ahead log, where every durable append goes first) are affected.
#pragma once

#include <rocksdb/file_system.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace tally::testing {

class FaultInjectionFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultInjectionFileSystem(std::string suffix = ".log")
      : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()), suffix_(std::move(suffix)) {}

  static const char* kClassName() { return "TallyFaultInjectionFileSystem"; }
  const char* Name() const override { return kClassName(); }

  // What happens to the next writes (Append) and syncs (Sync, Fsync) of the
  // files it watches, until set back to kNone.
  enum class Fault { kNone, kIoError, kNoSpace };
  void FailWrites(Fault f) { writes_.store(f); }
  void FailSyncs(Fault f) { syncs_.store(f); }
  void Heal() {
    writes_.store(Fault::kNone);
    syncs_.store(Fault::kNone);
  }
  // Calls refused so far (writes and syncs).
  uint64_t refused() const { return refused_.load(); }
  // What a power cut does to a file's unsynced tail: cuts every watched
  // file back to the bytes its last successful sync covered. Call with the
  // database closed.
  void DropUnsyncedData() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, synced] : synced_) {
      std::error_code ec;
      if (std::filesystem::exists(name, ec) && std::filesystem::file_size(name, ec) > synced) {
        std::filesystem::resize_file(name, synced, ec);
      }
    }
  }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    auto s = target()->NewWritableFile(fname, options, result, dbg);
    if (s.ok() && Watched(fname)) *result = std::make_unique<File>(std::move(*result), this, fname, 0);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    auto s = target()->ReopenWritableFile(fname, options, result, dbg);
    if (s.ok() && Watched(fname)) {
      std::error_code ec;
      const uint64_t size = std::filesystem::file_size(fname, ec);
      *result = std::make_unique<File>(std::move(*result), this, fname, ec ? 0 : size);
    }
    return s;
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override {
    auto s = target()->ReuseWritableFile(fname, old_fname, options, result, dbg);
    if (s.ok() && Watched(fname)) *result = std::make_unique<File>(std::move(*result), this, fname, 0);
    return s;
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, FaultInjectionFileSystem* fs, std::string name, uint64_t size)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), name_(std::move(name)), size_(size) {
      fs_->Synced(name_, size_);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (auto s = fs_->Check(fs_->writes_); !s.ok()) return s;
      auto s = target()->Append(data, options, dbg);
      if (s.ok()) size_ += data.size();
      return s;
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
      if (auto s = fs_->Check(fs_->writes_); !s.ok()) return s;
      auto s = target()->Append(data, options, info, dbg);
      if (s.ok()) size_ += data.size();
      return s;
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
      if (auto s = fs_->Check(fs_->syncs_); !s.ok()) return s;
      auto s = target()->Sync(options, dbg);
      if (s.ok()) fs_->Synced(name_, size_);
      return s;
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
      if (auto s = fs_->Check(fs_->syncs_); !s.ok()) return s;
      auto s = target()->Fsync(options, dbg);
      if (s.ok()) fs_->Synced(name_, size_);
      return s;
    }
    rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& options,
                                rocksdb::IODebugContext* dbg) override {
      if (auto s = fs_->Check(fs_->syncs_); !s.ok()) return s;
      return target()->RangeSync(offset, nbytes, options, dbg);
    }

   private:
    FaultInjectionFileSystem* fs_;
    const std::string name_;
    uint64_t size_;  // bytes appended (and kept by the OS), synced or not
  };

  void Synced(const std::string& name, uint64_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    synced_[name] = size;
  }

  bool Watched(const std::string& name) const {
    return name.size() >= suffix_.size() && name.compare(name.size() - suffix_.size(), suffix_.size(), suffix_) == 0;
  }
  rocksdb::IOStatus Check(const std::atomic<Fault>& fault) {
    switch (fault.load()) {
      case Fault::kNone:
        return rocksdb::IOStatus::OK();
      case Fault::kIoError:
        ++refused_;
        return rocksdb::IOStatus::IOError("injected I/O error");
      case Fault::kNoSpace:
        ++refused_;
        return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    }
    return rocksdb::IOStatus::OK();
  }

  const std::string suffix_;
  std::mutex mu_;
  std::map<std::string, uint64_t> synced_;  // watched file -> bytes its last sync covered
  std::atomic<Fault> writes_{Fault::kNone}, syncs_{Fault::kNone};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace tally::testing
