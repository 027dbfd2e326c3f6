# Overlay port building corio from this checkout:
#   vcpkg install corio[tls] --overlay-ports=<corio>/packaging/vcpkg/ports
# A registry port would fetch a release tag instead (vcpkg_from_git with
# REF v${VERSION}); the rest stays the same.
set(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../../../..")

vcpkg_check_features(OUT_FEATURE_OPTIONS feature_options
    FEATURES
        zlib CORIO_WITH_ZLIB
        tls  CORIO_WITH_TLS)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        ${feature_options}
        -DCORIO_BUILD_TESTS=OFF
        -DCORIO_BUILD_EXAMPLES=OFF
        -DCORIO_INSTALL=ON)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH lib/cmake/corio)

# Header-only: nothing goes under debug/, and the .pc files live in share/.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug" "${CURRENT_PACKAGES_DIR}/lib")
set(VCPKG_POLICY_EMPTY_PACKAGE enabled)
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
