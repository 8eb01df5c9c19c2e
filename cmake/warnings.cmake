# SPDX-License-Identifier: LGPL-2.1-or-later
# Distribution builds (the Yocto recipe) turn THAW_WERROR off: their
# compilers and flags differ from the ones thaw is developed with.
option(THAW_WERROR "Treat compiler warnings as errors" ON)
if(THAW_WERROR)
	add_compile_options(-Werror)
endif()

add_compile_options(
	-Wall -Wextra
	-Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2
	-Wpointer-arith -Wundef -Wvla -Wno-unused-parameter
	-fno-strict-aliasing -fstack-protector-strong
)
add_compile_definitions(_GNU_SOURCE)

if(THAW_SANITIZE)
	add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
		-fno-sanitize-recover=undefined)
	add_link_options(-fsanitize=address,undefined)
endif()

if(THAW_FUZZ)
	if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
		message(FATAL_ERROR "THAW_FUZZ needs clang: configure with CC=clang")
	endif()
	# Coverage for every parser the fuzz targets reach, not only theirs.
	add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
		-fno-omit-frame-pointer)
	add_link_options(-fsanitize=address,undefined)
endif()
