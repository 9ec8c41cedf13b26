// rekap: one error model for the whole library.
//
// A Status is either OK or carries a canonical code and a message. Result<T> holds a
// value or a non-OK Status. Bad input is always reported through these types, never by
// throwing; exceptions and asserts are reserved for programmer errors. Messages are
// bilingual where a user sees them: Indonesian first, then " / " and English.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rekap {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // malformed input: names the field and the rule broken
  kNotFound,            // unknown TPS, region, contest, event
  kAlreadyExists,       // a different result from the same source without a correction
  kFailedPrecondition,  // state does not allow the operation (e.g. nothing to correct)
  kDataLoss,            // stored data failed verification (tampering, corruption)
  kPermissionDenied,
  kResourceExhausted,   // an input bound was exceeded
  kUnavailable,         // I/O that may succeed if retried
  kInternal,
};

std::string_view CodeName(Code c);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return {}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message"
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rekap

// Propagates a non-OK Status from an expression returning Status.
#define REKAP_RETURN_IF_ERROR(expr)            \
  do {                                         \
    ::rekap::Status _st = (expr);              \
    if (!_st.ok()) return _st;                 \
  } while (0)

#define REKAP_CONCAT_INNER(a, b) a##b
#define REKAP_CONCAT(a, b) REKAP_CONCAT_INNER(a, b)
// Declares `lhs` from a Result<T> expression or returns its Status.
#define REKAP_ASSIGN_OR_RETURN(lhs, expr)                         \
  auto REKAP_CONCAT(_res_, __LINE__) = (expr);                    \
  if (!REKAP_CONCAT(_res_, __LINE__).ok())                        \
    return REKAP_CONCAT(_res_, __LINE__).status();                \
  lhs = std::move(REKAP_CONCAT(_res_, __LINE__)).value()
