"""Conan 2 recipe for corio (header-only).

    conan create . --build=missing -o "corio/*:with_tls=True"

Consumers: `find_package(corio CONFIG REQUIRED COMPONENTS http)` with the
CMakeDeps generator, or pkg-config through PkgConfigDeps.
"""
import os

from conan import ConanFile
from conan.tools.cmake import CMake, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load
from conan.tools.build import check_min_cppstd


def _project_version(recipe_folder):
    text = load(None, os.path.join(recipe_folder, "include", "corio", "version.hpp"))
    parts = {}
    for line in text.splitlines():
        for part in ("MAJOR", "MINOR", "PATCH"):
            prefix = "#define CORIO_VERSION_" + part + " "
            if line.startswith(prefix):
                parts[part] = line[len(prefix):].strip()
    return "{MAJOR}.{MINOR}.{PATCH}".format(**parts)


class CorioConan(ConanFile):
    name = "corio"
    description = "Header-only C++20 coroutine library modelled on Python's asyncio"
    license = "MIT"
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"with_zlib": [True, False], "with_tls": [True, False]}
    default_options = {"with_zlib": True, "with_tls": False}
    exports_sources = "CMakeLists.txt", "LICENSE", "cmake/*", "include/*"
    no_copy_source = True

    def set_version(self):
        self.version = self.version or _project_version(self.recipe_folder)

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        if self.options.with_zlib:
            self.requires("zlib/[>=1.2.11 <2]")
        if self.options.with_tls:
            self.requires("openssl/[>=1.1.1 <4]")

    def validate(self):
        check_min_cppstd(self, 20)

    def generate(self):
        toolchain = CMakeToolchain(self)
        toolchain.variables["CORIO_BUILD_TESTS"] = False
        toolchain.variables["CORIO_BUILD_EXAMPLES"] = False
        toolchain.variables["CORIO_WITH_ZLIB"] = bool(self.options.with_zlib)
        toolchain.variables["CORIO_WITH_TLS"] = bool(self.options.with_tls)
        toolchain.generate()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        cmake = CMake(self)
        cmake.configure()
        cmake.install()

    def package_id(self):
        # Headers only: the compiler and build type do not change the
        # package; the options do (they decide the targets and .pc files).
        self.info.settings.clear()

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "corio")
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []

        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "corio::corio")
        core.set_property("pkg_config_name", "corio")
        core.system_libs = ["pthread"]

        http = self.cpp_info.components["http"]
        http.set_property("cmake_target_name", "corio::http")
        http.set_property("pkg_config_name", "corio-http")
        http.requires = ["core"]
        if self.options.with_zlib:
            http.requires.append("zlib::zlib")
            http.defines = ["CORIO_WITH_ZLIB=1"]

        if self.options.with_tls:
            tls = self.cpp_info.components["tls"]
            tls.set_property("cmake_target_name", "corio::tls")
            tls.set_property("pkg_config_name", "corio-tls")
            tls.requires = ["core", "openssl::ssl", "openssl::crypto"]
            tls.defines = ["CORIO_WITH_TLS=1"]
