# run_fuzz.cmake - one deterministic fuzzing session for ctest: a fresh
# working corpus (so each run starts from the seeds alone), a fixed seed,
# a time limit.  Crashing inputs are kept under ARTIFACTS.
#   cmake -DFUZZER=... -DSEEDS=... -DWORK=... -DARTIFACTS=... -DSECONDS=...
#         -P run_fuzz.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK} ${ARTIFACTS})
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -seed=1
          -artifact_prefix=${ARTIFACTS}/ ${WORK} ${SEEDS}
  RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "fuzz_wire failed (${rv}); the input is in ${ARTIFACTS}")
endif()
