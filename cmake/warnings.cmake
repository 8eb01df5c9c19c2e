# SPDX-License-Identifier: LGPL-2.1-or-later
add_compile_options(
	-Wall -Wextra -Werror
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

if(THAW_FUZZ AND NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
	message(FATAL_ERROR "THAW_FUZZ needs clang: configure with CC=clang")
endif()
