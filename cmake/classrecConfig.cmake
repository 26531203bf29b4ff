# The CMake package of an installed classrec (`cargo cinstall --release --prefix P`, which puts
# this file in P/share/cmake/classrec/). In a C or C++ project:
#
#   find_package(classrec 0.2 REQUIRED)                  # CMAKE_PREFIX_PATH=P if P is not standard
#   target_link_libraries(app PRIVATE classrec::classrec)          # the shared library
#   target_link_libraries(app PRIVATE classrec::classrec_static)   # or the static archive
#
# Both targets carry the include folder (#include "classrec.h"); the static one also carries the
# system libraries the archive needs and defines CLASSREC_STATIC.

get_filename_component(_classrec_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(_classrec_libdirs "${_classrec_prefix}/lib")
if(CMAKE_LIBRARY_ARCHITECTURE)
  list(PREPEND _classrec_libdirs "${_classrec_prefix}/lib/${CMAKE_LIBRARY_ARCHITECTURE}")
endif()
set(_classrec_include "${_classrec_prefix}/include/classrec")

# The system libraries the static archive needs: `rustc --print native-static-libs` for the
# target, kept equal to classrec.pc's Libs.private by scripts/test-package.sh.
if(WIN32)
  set(_classrec_static_deps kernel32 advapi32 bcrypt ntdll userenv ws2_32 ole32 oleaut32 combase
      d3d11 dwmapi user32 propsys mmdevapi rpcrt4 synchronization)
else()
  set(_classrec_static_deps stdc++ asound gcc_s util rt pthread m dl c)
endif()

if(NOT TARGET classrec::classrec)
  find_library(_classrec_shared NAMES classrec classrec.dll PATHS ${_classrec_libdirs} NO_DEFAULT_PATH)
  if(_classrec_shared)
    add_library(classrec::classrec SHARED IMPORTED)
    set_target_properties(classrec::classrec PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_classrec_include}")
    if(WIN32)
      # The import library links; the DLL (in P/bin) runs.
      set_target_properties(classrec::classrec PROPERTIES
        IMPORTED_IMPLIB "${_classrec_shared}"
        IMPORTED_LOCATION "${_classrec_prefix}/bin/classrec.dll")
    else()
      set_target_properties(classrec::classrec PROPERTIES IMPORTED_LOCATION "${_classrec_shared}")
    endif()
  endif()
  find_file(_classrec_archive NAMES libclassrec.a classrec.lib PATHS ${_classrec_libdirs} NO_DEFAULT_PATH)
  if(_classrec_archive)
    add_library(classrec::classrec_static STATIC IMPORTED)
    set_target_properties(classrec::classrec_static PROPERTIES
      IMPORTED_LOCATION "${_classrec_archive}"
      IMPORTED_LINK_INTERFACE_LANGUAGES "C"
      INTERFACE_INCLUDE_DIRECTORIES "${_classrec_include}"
      INTERFACE_COMPILE_DEFINITIONS "CLASSREC_STATIC"
      INTERFACE_LINK_LIBRARIES "${_classrec_static_deps}")
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(classrec
  REQUIRED_VARS _classrec_shared _classrec_archive
  VERSION_VAR classrec_VERSION
  REASON_FAILURE_MESSAGE "no libclassrec under ${_classrec_prefix}/lib: install it with `cargo cinstall --release --prefix ${_classrec_prefix}`")
unset(_classrec_prefix)
unset(_classrec_libdirs)
unset(_classrec_include)
