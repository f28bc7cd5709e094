/*
 * relayd master: the table of live smtp children, with their peer
 * address, so the master can enforce max_children and max_per_ip.
 */
#ifndef RELAYD_MASTER_TABLE_H
#define RELAYD_MASTER_TABLE_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>

struct master_table;

struct master_table *master_table_new(void);
void master_table_free(struct master_table *t);
/* 0, or -ENOMEM (the caller then must not keep the child unaccounted). */
int master_table_add(
    struct master_table *t, pid_t pid, const struct sockaddr_storage *peer);
/* 1 if pid was ours and is now forgotten, 0 if unknown. */
int master_table_remove(struct master_table *t, pid_t pid);
size_t master_table_count(const struct master_table *t);
/* Children whose peer has the same address (port ignored). */
size_t master_table_count_peer(
    const struct master_table *t, const struct sockaddr_storage *peer);
/* kill(pid, sig) for every child; returns how many were signalled. */
size_t master_table_signal(const struct master_table *t, int sig);

#endif
