// ThreadSanitizer's view of calls into RocksDB, which Debian builds without
// it: when several threads write at once, RocksDB's write group has one
// thread (the leader) copy the others' batches, ordered by RocksDB's own
// synchronization that TSan cannot see. Accesses made by the calling
// thread during such a call are therefore not recorded (TsanIgnoreScope);
// in every other build this is nothing.
#pragma once

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TALLY_TSAN_BUILD 1
#endif
#endif

#ifdef TALLY_TSAN_BUILD
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();
#endif

namespace tally {

class TsanIgnoreScope {
 public:
#ifdef TALLY_TSAN_BUILD
  TsanIgnoreScope() { __tsan_ignore_thread_begin(); }
  ~TsanIgnoreScope() { __tsan_ignore_thread_end(); }
#else
  TsanIgnoreScope() = default;
#endif
  TsanIgnoreScope(const TsanIgnoreScope&) = delete;
  TsanIgnoreScope& operator=(const TsanIgnoreScope&) = delete;
};

}  // namespace tally
