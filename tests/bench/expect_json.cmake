# expect_json.cmake - bench.core_smoke: refraft-bench prints its JSON line.
# refraft-bench runs briefly, exits 0 and prints one JSON line carrying
# every key; no timing is asserted.
# Usage: cmake -DBENCH=<path to refraft-bench> -P expect_json.cmake
execute_process(
  COMMAND ${BENCH} core --seconds 0.05 --batch 64 --repeat 3
  OUTPUT_VARIABLE out
  RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "refraft-bench exited with ${rv}:\n${out}")
endif()
set(num "[0-9]+(\\.[0-9]+)?")
set(line "^{\"bench\":\"core\",\"nodes\":3,\"batch\":64,"
         "\"alloc\":\"system\",\"runs\":3,"
         "\"commits_per_s\":${num},\"min\":${num},\"max\":${num},"
         "\"entries\":[0-9]+}\n$")
string(CONCAT line ${line})
if(NOT out MATCHES "${line}")
  message(FATAL_ERROR "not the expected JSON line:\n${out}")
endif()
message(STATUS "${out}")
