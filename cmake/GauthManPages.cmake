# Man pages and the bash completion (docs/packaging.md).
#
# The pages are generated, never written by hand: tools/man/gen-man.py makes
# gauth(1) from docs/cli.md, gauth-emulator(1) from docs/emulator.md, and
# libgauth(3) and a page per function (or group of functions) from the
# comments of include/gauth/*.h, all through pandoc. GAUTH_MAN_PAGES is ON
# when pandoc and Python 3 are there; the man_pages test says it skipped
# otherwise.
find_program(GAUTH_PANDOC pandoc)
find_package(Python3 COMPONENTS Interpreter)
if(GAUTH_PANDOC AND Python3_Interpreter_FOUND)
  set(gauth_man_default ON)
else()
  set(gauth_man_default OFF)
endif()
option(GAUTH_MAN_PAGES "Generate and install the man pages (needs pandoc)"
  ${gauth_man_default})

set(GAUTH_MAN_DIR ${PROJECT_BINARY_DIR}/man)
if(GAUTH_MAN_PAGES)
  if(NOT GAUTH_PANDOC OR NOT Python3_Interpreter_FOUND)
    message(FATAL_ERROR "GAUTH_MAN_PAGES needs pandoc and python3 (apt-get install pandoc python3)")
  endif()
  file(GLOB gauth_man_headers CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/include/gauth/*.h)
  add_custom_command(
    OUTPUT ${GAUTH_MAN_DIR}/pages.txt
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/man/gen-man.py
      ${PROJECT_SOURCE_DIR} ${GAUTH_MAN_DIR} ${PROJECT_VERSION} ${GAUTH_PANDOC}
    DEPENDS
      ${PROJECT_SOURCE_DIR}/tools/man/gen-man.py
      ${PROJECT_SOURCE_DIR}/tools/man/man.lua
      ${PROJECT_SOURCE_DIR}/docs/cli.md
      ${PROJECT_SOURCE_DIR}/docs/emulator.md
      ${PROJECT_SOURCE_DIR}/docs/abi.md
      ${PROJECT_SOURCE_DIR}/README.md
      ${gauth_man_headers}
    COMMENT "Generating the man pages with pandoc"
    VERBATIM)
  add_custom_target(gauth_man ALL DEPENDS ${GAUTH_MAN_DIR}/pages.txt)
  install(DIRECTORY ${GAUTH_MAN_DIR}/man1 ${GAUTH_MAN_DIR}/man3
          DESTINATION ${CMAKE_INSTALL_MANDIR})
endif()

# bash-completion loads completions/NAME on demand from
# DATADIR/bash-completion/completions (on Debian /usr/share/..., what
# `pkg-config --variable=completionsdir bash-completion` says), relative to
# the install prefix so that `cmake --install --prefix DIR` stays inside DIR.
if(GAUTH_BUILD_EXAMPLES)
  install(FILES ${PROJECT_SOURCE_DIR}/tools/completion/gauth.bash
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
          RENAME gauth)
endif()
