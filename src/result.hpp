// Errors are values in the core: a Result holds either a value or a message that
// the caller, who knows what the user was doing, turns into the one log line.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace nsjv {

struct Error {
    std::string message;
};

template <class T> class Result {
public:
    Result(T value) : value_(std::move(value)) {}
    Result(Error error) : error_(std::move(error.message)) {}

    bool ok() const { return value_.has_value(); }
    explicit operator bool() const { return ok(); }
    T& operator*() { return *value_; }
    const T& operator*() const { return *value_; }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }
    const std::string& error() const { return error_; }

private:
    std::optional<T> value_;
    std::string error_;
};

inline Error fail(std::string message) { return Error{std::move(message)}; }

} // namespace nsjv
