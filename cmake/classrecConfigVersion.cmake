# The version of the installed classrec, for find_package(classrec <version>).
# ABI policy (CHANGELOG.md): within one SONAME (libclassrec.so.0) the ABI only grows, so any
# 0.y.z at or above the requested version is compatible; a breaking change bumps the major version
# and the SONAME. scripts/test-package.sh checks this version against Cargo.toml.
set(PACKAGE_VERSION "0.2.0")
if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  string(REGEX MATCH "^[0-9]+" _classrec_major "${PACKAGE_VERSION}")
  if(PACKAGE_FIND_VERSION_MAJOR STREQUAL _classrec_major)
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
    if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
      set(PACKAGE_VERSION_EXACT TRUE)
    endif()
  else()
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  endif()
  unset(_classrec_major)
endif()
