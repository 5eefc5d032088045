# edgelstm_add_model(<target> <export folder>): a static library target from an edgelstm
# export, for any CMake project (vendor SDKs: STM32CubeIDE/CMake, NXP MCUXpresso, Nordic, ...).
#
#   include(<export>/cmake/edgelstm_model.cmake)
#   edgelstm_add_model(radar_model ${CMAKE_CURRENT_SOURCE_DIR}/radar_c)
#   target_link_libraries(my_firmware PRIVATE radar_model)
#
# The sources are every .c of the export folder except the host self test (*_selftest.c); the
# target compiles with the project's own CPU flags (the library is plain C99 without
# dependencies). Or simply add_subdirectory(<export>) and link the target named like the model.
function(edgelstm_add_model target export_dir)
    get_filename_component(_dir "${export_dir}" ABSOLUTE)
    if(NOT EXISTS "${_dir}/edgelstm_export.json")
        message(FATAL_ERROR "edgelstm_add_model: '${_dir}' is not an edgelstm export (no edgelstm_export.json)")
    endif()
    set(_src_dir "${_dir}")
    if(EXISTS "${_dir}/src" AND EXISTS "${_dir}/library.properties")
        set(_src_dir "${_dir}/src")   # an Arduino-layout export
    endif()
    file(GLOB _sources "${_src_dir}/*.c")
    list(FILTER _sources EXCLUDE REGEX "_selftest\\.c$")
    add_library(${target} STATIC ${_sources})
    target_include_directories(${target} PUBLIC "${_src_dir}")
    set_target_properties(${target} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
endfunction()
