# expect_store_json.cmake - bench.store_smoke: refraft-bench store's JSON.
# refraft-bench store runs briefly, exits 0 and prints one JSON line per
# batch size carrying every key; no timing is asserted.
# Usage: cmake -DBENCH=<path to refraft-bench> -P expect_store_json.cmake
execute_process(
  COMMAND ${BENCH} store --seconds 0.01 --repeat 1
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "refraft-bench store exited with ${rv}:\n${out}${err}")
endif()
set(num "[0-9]+(\\.[0-9]+)?")
set(lines "")
foreach(batch 1 64 1024)
  string(APPEND lines "{\"bench\":\"store\",\"batch\":${batch},"
         "\"refstore_appends_per_s\":${num},\"lmdb_puts_per_s\":${num},"
         "\"ratio\":${num},\"runs\":1,\"sync\":\"full\"}\n")
endforeach()
if(NOT out MATCHES "^${lines}$")
  message(FATAL_ERROR "not the expected JSON lines:\n${out}${err}")
endif()
message(STATUS "${out}")
