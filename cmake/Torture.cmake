# Torture mode (tests only): -DASH_TORTURE=ON wraps allocation and chosen
# syscalls of libaftershock (src/sys/torture.c) so the Nth call can be made to
# fail, and builds tests/unit/test_torture.c. Never for a release build.
option(ASH_TORTURE "Test build: wrappers that make the Nth allocation/syscall fail" OFF)
if(ASH_TORTURE)
  target_compile_definitions(ash_layer_flags INTERFACE ASH_TORTURE=1)
  set(ASH_TORTURE_WRAPPED malloc calloc realloc strdup strndup open openat write fork posix_spawnp)
  # Also on ash_layer_flags: tests/layers link the layers' objects without the library,
  # and src/sys/torture.c in them calls __real_* (undefined without --wrap).
  foreach(fn ${ASH_TORTURE_WRAPPED})
    target_link_options(aftershock_lib INTERFACE "-Wl,--wrap=${fn}")
    target_link_options(ash_layer_flags INTERFACE "-Wl,--wrap=${fn}")
  endforeach()
endif()
