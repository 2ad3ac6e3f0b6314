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
