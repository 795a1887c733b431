# expect_violation.cmake - sim.catches.<bug>: the broken rule must be caught.
# Passes only when refraft-sim, run with a deliberately broken rule, exits
# non-zero having reported a violation; says which invariants caught it and
# in how many runs.
# Usage: cmake -DSIM=<refraft-sim> -DBUG=<bug> -DRUNS=<n> -DNODES=<n>
#              -DSTEPS=<k> -DSTORE=<mem|refstore|mixed>
#              [-DEXTRA=<more options, ;-separated>] [-DEXPECT=<regex>]
#              -P expect_violation.cmake
# EXPECT: at least one of the invariants that caught it must match (a bug
# that breaks safety must be caught by a safety invariant, not only by a
# liveness test).
execute_process(
  COMMAND ${SIM} --runs ${RUNS} --seed 1 --nodes ${NODES} --steps ${STEPS}
          --inject ${BUG} --store ${STORE} ${EXTRA}
  OUTPUT_VARIABLE out
  RESULT_VARIABLE rv)
string(REGEX MATCHALL "seed [0-9]+: [A-Za-z ]+ violated" hits "${out}")
if(rv EQUAL 0 OR NOT hits)
  message(FATAL_ERROR
    "--inject ${BUG} was not caught (exit status ${rv}):\n${out}")
endif()
if(DEFINED EXPECT)
  string(REGEX MATCH "seed [0-9]+: (${EXPECT}) violated" expected "${out}")
  if(NOT expected)
    message(FATAL_ERROR
      "--inject ${BUG} was caught, but by no invariant matching "
      "\"${EXPECT}\":\n${out}")
  endif()
endif()

# Tally the runs caught by each invariant.
set(invariants "")
foreach(hit IN LISTS hits)
  string(REGEX REPLACE "seed [0-9]+: (.*) violated" "\\1" inv "${hit}")
  list(APPEND invariants "${inv}")
endforeach()
set(tally "")
set(distinct ${invariants})
list(REMOVE_DUPLICATES distinct)
foreach(inv IN LISTS distinct)
  set(n 0)
  foreach(other IN LISTS invariants)
    if(other STREQUAL inv)
      math(EXPR n "${n} + 1")
    endif()
  endforeach()
  list(APPEND tally "${inv}: ${n}")
endforeach()
list(LENGTH hits caught)
string(REGEX MATCH "[^\n]*violated[^\n]*" first "${out}")
message(STATUS "--inject ${BUG}: caught in ${caught} of ${RUNS} runs "
               "(${tally})\nfirst: ${first}")
