# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Turns a text file into a C header holding it as one string constant:
#   cmake -DIN=file.txt -DOUT=file.h -DNAME=symbol -P embed-text.cmake
file(READ "${IN}" text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\"\n\t\"" text "${text}")
file(WRITE "${OUT}.tmp"
	"/* Generated from ${IN}: edit that file instead. */\n"
	"#pragma once\n\n"
	"static const char ${NAME}[] =\n\t\"${text}\";\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
