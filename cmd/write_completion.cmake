# Writes the output of `PGDR completion COMPLETION_SHELL` to OUT; run as
# cmake -DPGDR=BINARY -DCOMPLETION_SHELL=bash|zsh -DOUT=FILE -P write_completion.cmake
# The file is written only when the command succeeds, so a failed run cannot leave a stale or
# empty script that the build would then take as up to date.
execute_process(COMMAND "${PGDR}" completion "${COMPLETION_SHELL}"
                OUTPUT_VARIABLE script
                ERROR_VARIABLE err
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR script STREQUAL "")
  message(FATAL_ERROR "`pgdr completion ${COMPLETION_SHELL}` failed (${rc}): ${err}")
endif()
file(WRITE "${OUT}" "${script}")
