# Sanitizer builds. ASan+UBSan builds stop on the first UBSan report
# (-fno-sanitize-recover=all) so that a report cannot scroll past unnoticed.
if(GAUTH_SANITIZE AND GAUTH_TSAN)
  message(FATAL_ERROR "GAUTH_SANITIZE and GAUTH_TSAN cannot be combined")
endif()
if(GAUTH_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(GAUTH_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

# Coverage builds (gcc's gcov, read by lcov: tests/scripts/coverage.sh).
option(GAUTH_COVERAGE "Build with gcov instrumentation (make coverage)" OFF)
if(GAUTH_COVERAGE)
  if(GAUTH_SANITIZE OR GAUTH_TSAN OR GAUTH_FUZZ)
    message(FATAL_ERROR "GAUTH_COVERAGE is not combined with sanitizers")
  endif()
  add_compile_options(--coverage -O0)
  add_link_options(--coverage)
endif()

# libFuzzer builds (clang only): the library and everything else built here
# get coverage instrumentation without libFuzzer's main
# (-fsanitize=fuzzer-no-link), plus ASan and UBSan; the fuzz targets in
# tests/fuzz link -fsanitize=fuzzer themselves. UBSan stops at the first
# report so that libFuzzer records it as a crash.
if(GAUTH_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "GAUTH_FUZZ needs clang (configure with CC=clang)")
  endif()
  if(GAUTH_TSAN)
    message(FATAL_ERROR "GAUTH_FUZZ and GAUTH_TSAN cannot be combined")
  endif()
  set(GAUTH_FUZZ_SANITIZERS "address,undefined")
  add_compile_options(-fsanitize=fuzzer-no-link,${GAUTH_FUZZ_SANITIZERS}
                      -fno-sanitize-recover=all -fno-omit-frame-pointer)
endif()
