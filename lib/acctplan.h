/*
 * acctplan: bring the relay account in the in-memory account database to
 * the state the layout asks for, recording each change in a plan.
 */
#ifndef RELAY_ACCTPLAN_H
#define RELAY_ACCTPLAN_H

#include "accountdb.h"
#include "idpolicy.h"
#include "layout.h"
#include "plan.h"

/*
 * Changes db in memory (the caller commits or frees it).  user is the
 * account and primary group name, want the layout's account line.
 */
int acctplan_build(struct accountdb *db, const char *user,
    const struct layout_account *want, const struct id_choice *ids,
    struct plan *plan);

#endif
