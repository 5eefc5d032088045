# CMake toolchain file for bare-metal Cortex-M builds of an edgelstm export with the GNU Arm
# Embedded toolchain (arm-none-eabi-gcc + newlib).
#
#   cmake -S <export> -B build-arm -DCMAKE_TOOLCHAIN_FILE=<export>/cmake/arm-none-eabi.cmake \
#         -DEDGELSTM_CPU=cortex-m4            # cortex-m0 | cortex-m4 | cortex-m33 | cortex-m55
#   cmake --build build-arm                   # lib<name>.a and <name>_firmware.elf (board/)
#
# EDGELSTM_CPU selects the same flags `edgelstm verify --target qemu-<cpu>` uses.
# EDGELSTM_TOOLCHAIN_PREFIX (default arm-none-eabi-) selects another toolchain build.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(EDGELSTM_CPU "cortex-m4" CACHE STRING "Cortex-M core: cortex-m0, cortex-m4, cortex-m33 or cortex-m55")
set(EDGELSTM_TOOLCHAIN_PREFIX "arm-none-eabi-" CACHE STRING "prefix of the cross tools")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EDGELSTM_CPU EDGELSTM_TOOLCHAIN_PREFIX)

set(CMAKE_C_COMPILER ${EDGELSTM_TOOLCHAIN_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${EDGELSTM_TOOLCHAIN_PREFIX}g++)
set(CMAKE_ASM_COMPILER ${EDGELSTM_TOOLCHAIN_PREFIX}gcc)
set(CMAKE_AR ${EDGELSTM_TOOLCHAIN_PREFIX}ar)
set(CMAKE_RANLIB ${EDGELSTM_TOOLCHAIN_PREFIX}ranlib)

if(EDGELSTM_CPU STREQUAL "cortex-m0")
    set(_edgelstm_cpu_flags "-mcpu=cortex-m0 -mthumb -mfloat-abi=soft")
elseif(EDGELSTM_CPU STREQUAL "cortex-m4")
    set(_edgelstm_cpu_flags "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
elseif(EDGELSTM_CPU STREQUAL "cortex-m33")
    set(_edgelstm_cpu_flags "-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16")
elseif(EDGELSTM_CPU STREQUAL "cortex-m55")
    set(_edgelstm_cpu_flags "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard -mfpu=auto")
else()
    message(FATAL_ERROR "EDGELSTM_CPU='${EDGELSTM_CPU}': use cortex-m0, cortex-m4, cortex-m33 or cortex-m55")
endif()

set(CMAKE_C_FLAGS_INIT "${_edgelstm_cpu_flags} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${_edgelstm_cpu_flags} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${_edgelstm_cpu_flags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_edgelstm_cpu_flags}")
set(CMAKE_C_FLAGS_RELEASE_INIT "-O2")
if(NOT CMAKE_BUILD_TYPE)
    set(CMAKE_BUILD_TYPE Release CACHE STRING "build type")
endif()

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
