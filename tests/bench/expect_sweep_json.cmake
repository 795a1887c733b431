# expect_sweep_json.cmake - bench.sweep_smoke: refraft-bench sweep runs
# briefly, exits 0 and prints one JSON line carrying every key; no timing
# is asserted.
# Usage: cmake -DBENCH=<path to refraft-bench> -P expect_sweep_json.cmake
execute_process(
  COMMAND ${BENCH} sweep --entries 2000 --size 256 --repeat 1
  OUTPUT_VARIABLE out
  RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "refraft-bench sweep exited with ${rv}:\n${out}")
endif()
set(num "[0-9]+(\\.[0-9]+)?")
set(line "^{\"bench\":\"sweep\",\"entries\":2000,\"record_bytes\":256,"
         "\"in_flight\":[0-9]+,\"runs\":1,"
         "\"records_per_s\":${num},\"mb_per_s\":${num},\"min\":${num},"
         "\"max\":${num},\"fetched\":2000}\n$")
string(CONCAT line ${line})
if(NOT out MATCHES "${line}")
  message(FATAL_ERROR "not the expected JSON line:\n${out}")
endif()
message(STATUS "${out}")
