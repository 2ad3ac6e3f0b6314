/* libgauth: symbol export and attribute macros.
 *
 * GAUTH_API marks the public functions: the shared library is built with
 * -fvisibility=hidden, so only GAUTH_API symbols (all named gauth_*) are
 * exported. GAUTH_NODISCARD asks the compiler to warn when a status is
 * ignored. Nothing in this header has state. */
#ifndef GAUTH_EXPORT_H
#define GAUTH_EXPORT_H

#if defined(_WIN32)
#if defined(GAUTH_BUILDING_LIBRARY) && !defined(GAUTH_STATIC)
#define GAUTH_API __declspec(dllexport)
#elif !defined(GAUTH_STATIC)
#define GAUTH_API __declspec(dllimport)
#else
#define GAUTH_API
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define GAUTH_API __attribute__((visibility("default")))
#else
#define GAUTH_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#define GAUTH_NODISCARD __attribute__((warn_unused_result))
#define GAUTH_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define GAUTH_NODISCARD
#define GAUTH_PRINTF(fmt, args)
#endif

#ifdef __cplusplus
#define GAUTH_BEGIN_DECLS extern "C" {
#define GAUTH_END_DECLS }
#else
#define GAUTH_BEGIN_DECLS
#define GAUTH_END_DECLS
#endif

#endif /* GAUTH_EXPORT_H */
