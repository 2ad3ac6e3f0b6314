# Warning flags for libgauth's own code (library, examples, tests).
set(GAUTH_WARNING_FLAGS
  -Wall -Wextra -Wpedantic -Wshadow
  -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
  -Wno-missing-field-initializers)
if(GAUTH_WERROR)
  list(APPEND GAUTH_WARNING_FLAGS -Werror)
endif()

# Applies the project's warning flags to a target.
function(gauth_warnings target)
  target_compile_options(${target} PRIVATE ${GAUTH_WARNING_FLAGS})
endfunction()
