# expect_cluster_json.cmake - bench.cluster_smoke and bench.limit_smoke:
# refraft-bench cluster and limit run briefly, exit 0 and print their JSON
# lines with every key; no timing is asserted.
# Usage: cmake -DBENCH=<path to refraft-bench> -DWHAT=cluster|limit
#        -P expect_cluster_json.cmake
set(num "[0-9][0-9.]*")
if(WHAT STREQUAL "limit")
  set(args limit --seconds 0.3 --repeat 1)
  set(line "{\"bench\":\"limit\",\"puts_per_txn\":(1|1024),\"runs\":1,"
           "\"txns_per_s\":${num},\"puts_per_s\":${num},\"p50_us\":${num},"
           "\"p99_us\":${num},\"max_us\":${num}}\n")
  set(lines 2)
else()
  set(args cluster --inflight 1,16 --seconds 1 --repeat 1)
  set(line "{\"bench\":\"cluster\",\"nodes\":3,\"inflight\":(1|16),"
           "\"record_bytes\":256,\"seconds\":1\\.0,\"runs\":1,"
           "\"ids\":\"sequence\",\"parallel_append\":true,\"commits_per_s\":${num},"
           "\"p50_us\":${num},\"p99_us\":${num},\"max_us\":${num},"
           "\"leader_rss_anon_kib\":${num},\"disk_txns_per_s\":${num},"
           "\"disk_sync_p50_us\":${num},\"disk_puts_per_s_batch1024\":${num},"
           "\"ratio_to_disk_batch1024\":${num},"
           "\"p99_over_disk_sync_p50\":${num},\"failed\":0}\n")
  set(lines 2)
endif()
execute_process(
  COMMAND ${BENCH} ${args}
  OUTPUT_VARIABLE out
  RESULT_VARIABLE rv
  TIMEOUT 300)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "refraft-bench ${WHAT} exited with ${rv}:\n${out}")
endif()
string(CONCAT line ${line})
string(REGEX MATCHALL "${line}" found "${out}")
list(LENGTH found n)
if(NOT n EQUAL lines)
  message(FATAL_ERROR "expected ${lines} JSON lines, found ${n}:\n${out}")
endif()
message(STATUS "${out}")
