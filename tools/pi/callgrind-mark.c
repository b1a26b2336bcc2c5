/*
 * callgrind-mark: the marker of tools/pi/stage_cost.py as a callgrind client request, for machines
 * without qemu-user and an arm64 root. Each call dumps callgrind's counters (events since the
 * previous dump) with the tag as the dump's reason; tools/pi/callgrind_marks.py turns the dumps
 * into the "<tag> <instructions so far>" lines the qemu plugin writes (tools/pi/insn-count.c).
 * mood_edge_counting(0/1) switches callgrind's instrumentation off while a scene and its pipeline
 * are built (run with --instr-atstart=no: uncounted code runs ~10x faster than counted code).
 *
 *   cc -shared -fPIC -O2 -o callgrind-mark.so callgrind-mark.c   (needs valgrind's callgrind.h)
 */
#include <stdio.h>
#include <valgrind/callgrind.h>

void mood_edge_mark(long tag) {
    char reason[32];
    snprintf(reason, sizeof reason, "%ld", tag);
    CALLGRIND_DUMP_STATS_AT(reason);
}

void mood_edge_counting(int on) {
    if (on)
        CALLGRIND_START_INSTRUMENTATION;
    else
        CALLGRIND_STOP_INSTRUMENTATION;
}
