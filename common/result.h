// The one way a step that can fail says so: a value, or one line of text naming the problem
// ("bad scheduler name 'wrrr'", "FILE:LINE: reason"), as ipvsadm and keepalived report them.
// Nothing is thrown; a caller that ignores a result gets a warning ([[nodiscard]]).
//
//   Result<Command> r = parse_command(words);
//   if (!r) return Error{r.error()};       // or: return r.status();
//   use(*r);
//
//   Status apply(...) { if (bad) return Error{"no such service " + name}; return {}; }
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace fastvs {

// What a failure says: one line, no trailing newline, no "fastvsd: " prefix.
struct Error {
  std::string text;
};

// Success, or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error e) : error_(std::move(e.text)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  // "" when ok.
  const std::string& error() const { return error_; }

 private:
  std::string error_;
  bool ok_ = true;
};

// A value, or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}   // NOLINT: implicit by design
  Result(Error e) : error_(std::move(e.text)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const std::string& error() const { return error_; }
  Status status() const { return ok() ? Status() : Status(Error{error_}); }

  // Only when ok() (asserted in debug builds).
  T& value() & { return (assert(ok()), *value_); }
  const T& value() const& { return (assert(ok()), *value_); }
  T&& value() && { return (assert(ok()), std::move(*value_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  std::string error_;
};

}  // namespace fastvs
