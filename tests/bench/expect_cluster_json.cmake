# expect_cluster_json.cmake - bench.cluster_smoke, bench.client_http_smoke,
# bench.limit_smoke, bench.recover_smoke, bench.decode_smoke and
# bench.install_smoke: refraft-bench cluster (with and without
# --client-http), limit, recover, decode and install run briefly, exit 0
# and print their JSON lines with every key; no timing is asserted.
# Usage: cmake -DBENCH=<path to refraft-bench>
#        -DWHAT=cluster|client-http|limit|recover|decode|install
#        [-DRECORDS=N (recover)] -P expect_cluster_json.cmake
set(num "[0-9][0-9.]*")
if(WHAT STREQUAL "decode")
  set(args decode --entries 64 --seconds 0.05 --repeat 3)
  set(line "{\"bench\":\"decode\",\"entries\":64,\"record_bytes\":256,"
           "\"body_bytes\":${num},\"runs\":3,\"pairs_per_s\":${num},"
           "\"min\":${num},\"max\":${num},\"ns_per_entry\":${num},"
           "\"allocations_per_pair\":${num}}\n")
  set(lines 1)
elseif(WHAT STREQUAL "install")
  # Two runs, then their medians (the line with "runs").
  set(args install --refs 20000 --chunk 4096 --repeat 2 --random-ids)
  set(line "{\"bench\":\"install\",\"refs\":20000,\"chunk\":4096,"
           "\"ids\":\"random\",(\"runs\":2,)?\"stage_s\":${num},"
           "\"install_s\":${num},\"second_stage_s\":${num},"
           "\"second_install_s\":${num},\"heap_before_kib\":${num},"
           "\"heap_after_stage_kib\":${num},\"heap_after_install_kib\":${num},"
           "\"heap_after_second_install_kib\":${num},"
           "\"rss_anon_after_kib\":${num},\"rss_peak_kib\":${num}}\n")
  set(lines 3)
elseif(WHAT STREQUAL "limit")
  set(args limit --seconds 0.3 --repeat 1)
  set(line "{\"bench\":\"limit\",\"puts_per_txn\":(1|1024),\"runs\":1,"
           "\"txns_per_s\":${num},\"puts_per_s\":${num},\"p50_us\":${num},"
           "\"p99_us\":${num},\"max_us\":${num}}\n")
  set(lines 2)
elseif(WHAT STREQUAL "recover")
  if(NOT DEFINED RECORDS)
    set(RECORDS 2000)
  endif()
  set(args recover --records ${RECORDS} --size 256 --seconds-limit 60)
  set(line "{\"bench\":\"recover\",\"nodes\":3,\"records\":${RECORDS},"
           "\"record_bytes\":256,\"seconds\":${num},\"start_seconds\":${num},"
           "\"records_per_s\":${num},\"recover_mb_per_s\":${num},"
           "\"fetched\":${num},\"download_batch\":${num},"
           "\"download_runs\":3,\"download_requests\":${num},\"download_seconds\":${num},"
           "\"download_mb_per_s\":${num},"
           "\"ratio_recover_to_download\":${num}}\n")
  set(lines 1)
elseif(WHAT STREQUAL "client-http")
  set(args cluster --client-http --inflight 1,16 --seconds 1 --repeat 1
           --no-limit)
  set(line "{\"bench\":\"cluster\",\"mode\":\"client-http\",\"nodes\":3,"
           "\"inflight\":(1|16),\"connections\":(1|16),"
           "\"record_bytes\":256,\"seconds\":1\\.0,\"runs\":1,"
           "\"ids\":\"sequence\",\"parallel_append\":true,"
           "\"commits_per_s\":${num},\"p50_us\":${num},\"p99_us\":${num},"
           "\"max_us\":${num},\"leader_rss_anon_kib\":${num},"
           "\"failed\":0}\n")
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
