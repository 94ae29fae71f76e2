#pragma once
// Errors are values (Ceres style): library code never exits or throws across its API.
#include <QString>
#include <utility>
#include <variant>

namespace attnscope {

struct Error {
    QString message; // one line, meant for a person: what failed and on which input
};

template <typename T> class [[nodiscard]] Result {
public:
    Result(T value) : m_data(std::move(value)) {}
    Result(Error error) : m_data(std::move(error)) {}

    bool ok() const { return std::holds_alternative<T>(m_data); }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<T>(m_data); }
    const T& value() const& { return std::get<T>(m_data); }
    T&& value() && { return std::get<T>(std::move(m_data)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    const Error& error() const { return std::get<Error>(m_data); }
    QString message() const { return ok() ? QString() : error().message; }

private:
    std::variant<T, Error> m_data;
};

// Result<void> equivalent.
struct Ok {};
using Status = Result<Ok>;
inline Status okStatus() {
    return Ok{};
}

inline Error makeError(const QString& message) {
    return Error{message};
}

} // namespace attnscope

// Evaluates `expr` (a Result); on error returns it from the enclosing function, else moves
// the value into `lhs`.
#define ATTNSCOPE_ASSIGN_OR_RETURN(lhs, expr)                                                      \
    do {                                                                                           \
        auto attnscopeResult_ = (expr);                                                            \
        if (!attnscopeResult_) return attnscopeResult_.error();                                    \
        lhs = std::move(attnscopeResult_).value();                                                 \
    } while (0)
