# CMake toolchain file: cross-compile for 64-bit Windows with Debian's mingw-w64
# (package gcc-mingw-w64-x86-64). Used by ci/win-deps.sh to build libevent and
# CMocka; usable by hand too:
#   cmake -DCMAKE_TOOLCHAIN_FILE=ci/cross/mingw-w64-x86_64.cmake ...
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_triplet x86_64-w64-mingw32)
set(CMAKE_C_COMPILER   ${_triplet}-gcc)
set(CMAKE_CXX_COMPILER ${_triplet}-g++)   # only if g++-mingw-w64 is installed; C is enough here
set(CMAKE_RC_COMPILER  ${_triplet}-windres)
set(CMAKE_AR           ${_triplet}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB       ${_triplet}-ranlib CACHE FILEPATH "")

# Libraries, headers and CMake packages come only from under the mingw sysroot,
# never from the Linux host's /usr (add a prefix with
# -DCMAKE_FIND_ROOT_PATH="/usr/x86_64-w64-mingw32;/path/to/prefix");
# programs (python, etc.) are the host's.
list(APPEND CMAKE_FIND_ROOT_PATH /usr/${_triplet})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
