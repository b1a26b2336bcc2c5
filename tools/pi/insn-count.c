/*
 * insn-count: a qemu TCG plugin that counts the guest instructions executed, summed over all
 * threads, and logs the running total each time the guest makes the marker system call
 * (number MARK_SYSCALL, which no kernel has; qemu answers it with ENOSYS). The guest brackets
 * the code it wants to cost with markers (tools/pi/stage_cost.py); the differences between
 * consecutive lines are its cost in aarch64 instructions, independent of this machine's speed
 * and load.
 *
 *   cc -shared -fPIC -O2 -I DIR_WITH_qemu-plugin.h -o insn-count.so insn-count.c
 *   qemu-aarch64 -cpu cortex-a72 -plugin ./insn-count.so,out=marks.txt -L ROOT PROGRAM ...
 *
 * Each output line: "<tag> <instructions so far>", tag being the marker call's first argument.
 * Counting is per translated block, from the number of instructions in it: a block left early
 * by an exception is counted whole (rare, and the same on every run).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MARK_SYSCALL 0x4d45 /* "ME" */
#define MAX_VCPUS 1024      /* linux-user: one vCPU index per guest thread ever started */

/* one counter per vCPU (guest thread), each on its own cache line: no races, no atomics */
struct counter { uint64_t n; char pad[56]; };
static struct counter counts[MAX_VCPUS];
static FILE *out;

static void tb_exec(unsigned int vcpu, void *udata)
{
    counts[vcpu % MAX_VCPUS].n += (uintptr_t)udata;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)qemu_plugin_tb_n_insns(tb));
}

static uint64_t total(void)
{
    uint64_t sum = 0;
    for (int i = 0; i < MAX_VCPUS; i++) {
        sum += __atomic_load_n(&counts[i].n, __ATOMIC_RELAXED);
    }
    return sum;
}

static void syscall_cb(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1,
                       uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                       uint64_t a7, uint64_t a8)
{
    if (num == MARK_SYSCALL) {
        fprintf(out, "%" PRId64 " %" PRIu64 "\n", (int64_t)a1, total());
    }
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    fprintf(out, "end %" PRIu64 "\n", total());
    fclose(out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            path = argv[i] + 4;
        }
    }
    out = path ? fopen(path, "w") : stderr;
    if (!out) {
        perror(path);
        return -1;
    }
    setvbuf(out, NULL, _IOLBF, 0);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_vcpu_syscall_cb(id, syscall_cb);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
