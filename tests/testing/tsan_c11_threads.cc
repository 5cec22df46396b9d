// Linked into the test programs of the tsan preset only. librdkafka starts
// its threads with C11 thrd_create, which glibc (2.34 and later) runs
// through its internal pthread_create, out of ThreadSanitizer's reach in
// clang 14: such a thread has no TSan state and crashes at its first
// allocation. These definitions take precedence over glibc's for the
// libraries the program loads and go through the pthread functions TSan
// intercepts. (compiler-rt 15 intercepts thrd_create itself.)
#include <pthread.h>
#include <threads.h>

#include <cstdint>
#include <new>

namespace {

struct Start {
  thrd_start_t fn;
  void* arg;
};

void* Trampoline(void* p) {
  const Start start = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(start.fn(start.arg)));
}

}  // namespace

extern "C" int thrd_create(thrd_t* thread, thrd_start_t fn, void* arg) {
  auto* start = new (std::nothrow) Start{fn, arg};
  if (start == nullptr) return thrd_nomem;
  pthread_t t;
  if (pthread_create(&t, nullptr, Trampoline, start) != 0) {
    delete start;
    return thrd_error;
  }
  *thread = t;
  return thrd_success;
}

extern "C" int thrd_join(thrd_t thread, int* result) {
  void* value = nullptr;
  if (pthread_join(thread, &value) != 0) return thrd_error;
  if (result != nullptr) *result = static_cast<int>(reinterpret_cast<intptr_t>(value));
  return thrd_success;
}

extern "C" int thrd_detach(thrd_t thread) { return pthread_detach(thread) == 0 ? thrd_success : thrd_error; }
