# Warning flags, listed once. CI builds with ASH_WERROR=ON.
set(ASH_WARNINGS
    -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wvla -Wpointer-arith -Wcast-qual -Wundef
    -Wno-unused-parameter -Wno-format-nonliteral -Wno-missing-field-initializers)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  # Messages and names are bounded on purpose; truncation is the intended behaviour.
  list(APPEND ASH_WARNINGS -Wno-format-truncation)
endif()
option(ASH_WERROR "Treat warnings as errors" OFF)
if(ASH_WERROR)
  list(APPEND ASH_WARNINGS -Werror)
endif()
option(ASH_SANITIZE "Build with AddressSanitizer + UBSan" OFF)
if(ASH_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
