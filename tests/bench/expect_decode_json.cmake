# expect_decode_json.cmake - bench.decode_smoke: refraft-bench decode runs
# briefly, exits 0 and prints one JSON line carrying every key; no timing
# is asserted.
# Usage: cmake -DBENCH=<path to refraft-bench> -P expect_decode_json.cmake
execute_process(
  COMMAND ${BENCH} decode --entries 64 --seconds 0.05 --repeat 3
  OUTPUT_VARIABLE out
  RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "refraft-bench exited with ${rv}:\n${out}")
endif()
set(num "[0-9]+(\\.[0-9]+)?")
set(line "^{\"bench\":\"decode\",\"entries\":64,\"record_bytes\":256,"
         "\"body_bytes\":[0-9]+,\"runs\":3,"
         "\"pairs_per_s\":${num},\"min\":${num},\"max\":${num},"
         "\"ns_per_entry\":${num},\"allocations_per_pair\":[0-9]+}\n$")
string(CONCAT line ${line})
if(NOT out MATCHES "${line}")
  message(FATAL_ERROR "not the expected JSON line:\n${out}")
endif()
message(STATUS "${out}")
