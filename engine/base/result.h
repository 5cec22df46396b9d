// Errors are values: every fallible call returns Result<T> (or Status for
// Result<void>). Library errors (rocksdb::Status, librdkafka codes) are
// converted once, at the boundary that calls the library.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "engine/base/error_code.h"

namespace tally {

// An error: a stable code plus a human-readable message. Cheap to move.
class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "code_name: message", for logs and CLI output.
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
};

// Either a value of type T or an Error. Accessing the wrong alternative is a
// programming error (asserted in debug builds). No conversion to bool (as
// Abseil's StatusOr): with Result<bool> or Result<optional<T>>, `if (r)`
// would read as the value; ask r.ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_{ErrorCode::kOk, {}};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status OkStatus() { return Status(); }

// Explicit, searchable way of dropping an error on purpose.
template <typename T>
inline void IgnoreError(const Result<T>&) {}

}  // namespace tally

// Propagates an error from an expression returning Result<...>/Status.
#define TALLY_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    auto tally_status_ = (expr);                     \
    if (!tally_status_.ok()) return tally_status_.error(); \
  } while (0)

// `lhs` = the value of `expr` (a Result<T>), or returns its error:
//   TALLY_ASSIGN_OR_RETURN(auto head, log.Read(1, 10));
//   TALLY_ASSIGN_OR_RETURN(existing, store.Get(key));
#define TALLY_ASSIGN_OR_RETURN(lhs, expr) \
  TALLY_ASSIGN_OR_RETURN_IMPL_(TALLY_RESULT_CONCAT_(tally_result_, __LINE__), lhs, expr)
#define TALLY_RESULT_CONCAT_INNER_(a, b) a##b
#define TALLY_RESULT_CONCAT_(a, b) TALLY_RESULT_CONCAT_INNER_(a, b)
#define TALLY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.error();                 \
  lhs = std::move(tmp).value()
