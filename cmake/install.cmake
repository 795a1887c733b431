# install.cmake - install rules: headers, the shared library (versioned
# SONAME) and the static one, refraft.pc for pkg-config, and the CMake
# package (find_package(refraft) -> refraft::refraft, refraft::refraft_static).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(REFRAFT_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/refraft)

# The two library targets are built from $<TARGET_OBJECTS:refraft_objects>
# and do not link the object library, so the export set needs only them.
install(TARGETS refraft refraft_static
  EXPORT refraftTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The refraft tool (node, cluster, client commands, demo), when built.
if(TARGET refraft_cli)
  install(TARGETS refraft_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/refraft
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

# pkg-config.  Requires: what an application uses itself through our
# headers (refstore.h includes lmdb.h, and the hooks call LMDB), so
# `pkg-config --cflags --libs refraft` gives LMDB's flags too.
# Requires.private / Libs.private: what only a static link needs besides
# librefraft.a.  The layers that bring dependencies add them here.
set(REFRAFT_PC_REQUIRES "lmdb")
set(REFRAFT_PC_REQUIRES_PRIVATE "libcrypto libprotobuf-c")
set(REFRAFT_PC_LIBS_PRIVATE "")

# The .pc file locates itself (${pcfiledir}), so an install moved to
# another prefix, or installed with `cmake --install --prefix DIR` after
# configuring for /usr/local, still points at its own headers and library.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR
   IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(REFRAFT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(REFRAFT_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(REFRAFT_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _refraft_pc_up
    "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" _refraft_pc_up "${_refraft_pc_up}")
  set(REFRAFT_PC_PREFIX "\${pcfiledir}/${_refraft_pc_up}")
  set(REFRAFT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(REFRAFT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/refraft.pc.in
  ${CMAKE_CURRENT_BINARY_DIR}/refraft.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/refraft.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CMake package.
install(EXPORT refraftTargets
  NAMESPACE refraft::
  FILE refraftTargets.cmake
  DESTINATION ${REFRAFT_CMAKE_INSTALL_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/refraftConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/refraftConfig.cmake
  INSTALL_DESTINATION ${REFRAFT_CMAKE_INSTALL_DIR})
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/refraftConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/refraftConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/refraftConfigVersion.cmake
  DESTINATION ${REFRAFT_CMAKE_INSTALL_DIR})
