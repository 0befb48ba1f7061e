/* store_sql.c - the store's schema and statements, as SQL text.
 * SPDX-License-Identifier: Apache-2.0 */
#include "store_sql.h"

/* Append a migration to change the schema; never edit a released one. The
 * database's user_version is the number of migrations applied. */
const char *const store_migrations[] = {
    /* 1: events, runs, attempts, dedup keys */
    "CREATE TABLE events ("
    "  id TEXT PRIMARY KEY,"          /* fnhost's ULID */
    "  name TEXT NOT NULL,"
    "  user_id TEXT,"                 /* the sender's id */
    "  ts INTEGER NOT NULL,"          /* ms */
    "  received_at INTEGER NOT NULL,"
    "  json TEXT NOT NULL);"
    "CREATE INDEX events_name ON events(name, received_at);"
    "CREATE TABLE runs ("
    "  id TEXT PRIMARY KEY,"
    "  function_id TEXT NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"         /* queued running completed failed
                                         cancelled */
    "  attempt INTEGER NOT NULL DEFAULT 0," /* next or current, 0-based */
    "  wake_at INTEGER NOT NULL,"     /* when a queued run is due */
    "  output TEXT,"
    "  error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  ended_at INTEGER,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX runs_event ON runs(event_id);"
    "CREATE INDEX runs_function ON runs(function_id, created_at);"
    "CREATE INDEX runs_due ON runs(wake_at) WHERE status = 'queued';"
    "CREATE TABLE attempts ("
    "  run_id TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  error TEXT,"
    "  PRIMARY KEY (run_id, attempt)) WITHOUT ROWID;"
    "CREATE TABLE dedup ("
    "  function_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (function_id, key)) WITHOUT ROWID;",

    /* 2: durable steps and sleeps. Attempts are now per step (or per
     * stretch of handler code), so they are numbered within their step. */
    "CREATE TABLE steps ("
    "  run_id TEXT NOT NULL,"
    "  step_id TEXT NOT NULL,"        /* name, or name:n for repeats */
    "  name TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"           /* run | sleep */
    "  status TEXT NOT NULL,"         /* completed | failed | sleeping */
    "  result TEXT,"                  /* JSON */
    "  error TEXT,"
    "  attempts INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  ended_at INTEGER,"
    "  wake_at INTEGER,"
    "  committed_at INTEGER NOT NULL,"
    "  UNIQUE (run_id, step_id));"     /* rowid order = the order stored */
    "CREATE TABLE attempts2 ("
    "  run_id TEXT NOT NULL,"
    "  step_id TEXT,"                 /* NULL: handler code between steps */
    "  attempt INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  error TEXT);"
    "INSERT INTO attempts2(run_id, attempt, started_at, ended_at, error)"
    "  SELECT run_id, attempt, started_at, ended_at, error FROM attempts;"
    "DROP TABLE attempts;"
    "ALTER TABLE attempts2 RENAME TO attempts;"
    "CREATE INDEX attempts_run ON attempts(run_id);"
    "DROP INDEX runs_due;"
    "CREATE INDEX runs_due ON runs(wake_at)"
    "  WHERE status IN ('queued', 'sleeping');",

    /* 3: invokes. A run started by a step's invoke names the run and
     * step waiting for it; the step is "invoking" until it ends. */
    "ALTER TABLE runs ADD COLUMN parent_run_id TEXT;"
    "ALTER TABLE runs ADD COLUMN parent_step_id TEXT;",

    /* 4: fetch steps the host has still to make. A run that fetches is
     * 'fetching' until the response (or the final error) is its step's;
     * the request waits here, stored before it is made, so a restart
     * makes it again. */
    "CREATE TABLE fetches ("
    "  run_id TEXT NOT NULL,"
    "  step_id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  request TEXT NOT NULL,"        /* JSON: lib/fetch_req.h */
    "  attempt INTEGER NOT NULL,"     /* the next, 0-based */
    "  due_at INTEGER NOT NULL,"      /* when the next attempt may start */
    "  started_at INTEGER NOT NULL,"  /* when the step began */
    "  PRIMARY KEY (run_id, step_id)) WITHOUT ROWID;",

    /* 5: pauses: a run that waits for an event (kind 'wait', a step of
     * fh_wait_for_event(); the run's status is 'waiting'). A pause is
     * found by the event's name, and by (name, path, value) when it
     * matches on a field, never by a scan; its timeout by time. Other
     * kinds (a cancellation on an event) may share the table and its
     * index. */
    "CREATE TABLE pauses ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT," /* never reused: cached */
    "  kind TEXT NOT NULL,"           /* wait */
    "  run_id TEXT NOT NULL,"
    "  step_id TEXT,"                 /* wait: the step it ends */
    "  event TEXT NOT NULL,"          /* the event name waited for */
    "  match_path TEXT,"              /* a dotted path, or NULL */
    "  match_value TEXT,"             /* the triggering event's value at
                                         match_path, as JSON text; NULL
                                         matches nothing */
    "  if_expr TEXT,"                 /* an expression, or NULL */
    "  began_at INTEGER NOT NULL,"    /* when the step was called */
    "  lookback_ms INTEGER NOT NULL DEFAULT 0,"
    "  timeout_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX pauses_match ON pauses(event, match_path, match_value);"
    "CREATE INDEX pauses_timeout ON pauses(timeout_at);"
    "CREATE INDEX pauses_run ON pauses(run_id);",

    /* 6: a run waiting on the run its step invoked has status 'invoking'
     * (not due by time: only the writer ends an invoke, when the invoked
     * run ends or, found by this index, when its time runs out). */
    "CREATE INDEX runs_invoking ON runs(wake_at) WHERE status = 'invoking';",

    /* 7: cancellation and the timeouts that cancel. A cancel asked for a
     * run on a worker is kept in cancel_at until the run reaches its next
     * step boundary; DEADLINE is when a run that has not ended is
     * cancelled (timeouts.start before it starts, timeouts.finish after),
     * NULL once it ended, so that its index holds pending runs only. */
    "ALTER TABLE runs ADD COLUMN cancel_at INTEGER;"
    "ALTER TABLE runs ADD COLUMN cancel_reason TEXT;"
    "ALTER TABLE runs ADD COLUMN deadline INTEGER;"
    "CREATE INDEX runs_deadline ON runs(deadline)"
    "  WHERE deadline IS NOT NULL;",

    /* 8: parallel steps. Each branch of a group is a run of its own,
     * hidden from lists: parent_run_id is the run the group is in,
     * parent_step_id the group's step, target_step the step it runs. Its
     * steps and attempts are written as the parent's. A run waits for its
     * group as status 'parallel' (not due by time: the last branch to end
     * makes it due). */
    "ALTER TABLE runs ADD COLUMN target_step TEXT;"
    "CREATE INDEX runs_parent ON runs(parent_run_id)"
    "  WHERE parent_run_id IS NOT NULL;",

    /* 9: idempotency keys: a function's run per key, for 24 hours. */
    "CREATE TABLE idempotency ("
    "  function_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (function_id, key)) WITHOUT ROWID;",

    /* 10: flow control. rateLimit keys, as idempotency's (expires_at:
     * the key's GCRA theoretical arrival time); the runs an option did
     * not start; a run's singleton key, found among the active runs;
     * pending debounces. */
    "CREATE TABLE rate_limits ("
    "  function_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (function_id, key)) WITHOUT ROWID;"
    "CREATE TABLE skipped ("
    "  event_id TEXT NOT NULL,"
    "  function_id TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  PRIMARY KEY (event_id, function_id)) WITHOUT ROWID;"
    "ALTER TABLE runs ADD COLUMN singleton_key TEXT;"
    "CREATE INDEX runs_singleton ON runs(function_id, singleton_key, status)"
    "  WHERE singleton_key IS NOT NULL;"
    /* A debounced run's key, last event, when it is due and the latest
     * it may be (its timeout), store_debounce.c. */
    "CREATE TABLE debounces ("
    "  function_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  due_at INTEGER NOT NULL,"
    "  max_at INTEGER,"
    "  start_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (function_id, key)) WITHOUT ROWID;"
    "CREATE INDEX debounces_due ON debounces(due_at);"
    "CREATE INDEX debounces_run ON debounces(run_id);",

    /* 11: concurrency keys (host/conc.h), made once when a run is
     * created. A run whose key is full waits as status 'concurrency' in
     * that key's queue (conc_wait, oldest first): found by key, never by
     * the due scan. */
    "ALTER TABLE runs ADD COLUMN conc_key1 TEXT;"
    "ALTER TABLE runs ADD COLUMN conc_key2 TEXT;"
    "ALTER TABLE runs ADD COLUMN conc_wait TEXT;"
    "CREATE INDEX runs_conc ON runs(conc_wait, wake_at)"
    "  WHERE status = 'concurrency';",
    /* 12: cron schedules: per function and schedule (as written), the
     * last tick fired, in seconds (every tick at or before it is done).
     * A tick updates it in the transaction that stores its event and
     * run, and only to a later one: a tick commits once. */
    "CREATE TABLE cron_ticks ("
    "  function_id TEXT NOT NULL,"
    "  cron TEXT NOT NULL,"
    "  last_tick INTEGER NOT NULL,"
    "  PRIMARY KEY (function_id, cron)) WITHOUT ROWID;",
    /* 13: throttle (lib/gcra.h): per function and key, its GCRA
     * theoretical arrival time, taken in the transaction that stores a
     * run, so that a restart gives no fresh burst. A run it delays keeps
     * its key (shown as why it waits) and is due at its turn. */
    "CREATE TABLE throttles ("
    "  function_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  tat INTEGER NOT NULL,"
    "  PRIMARY KEY (function_id, key)) WITHOUT ROWID;"
    "ALTER TABLE runs ADD COLUMN throttle_key TEXT;",
    /* 14: priority.run, in seconds, as evaluated when the run was made
     * (shown; its place in line is in wake_at, store.c's run_wake()). */
    "ALTER TABLE runs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;",
    /* 15 (13 and 14 are throttle's and priority's): batches. A pending
     * batch is a debounces row whose size counts its events
     * (store_debounce.c); a batch run's events, in order, are its
     * run_events (a run without any has its one event, runs.event_id),
     * found by event too for the event's runs. */
    "ALTER TABLE debounces ADD COLUMN size INTEGER;"
    "CREATE TABLE run_events ("
    "  run_id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  PRIMARY KEY (run_id, seq)) WITHOUT ROWID;"
    "CREATE INDEX run_events_event ON run_events(event_id);",
    /* 16: retention (store.c's apply_prune()): keys are deleted once they
     * expire, found by when. */
    "CREATE INDEX dedup_expires ON dedup(expires_at);"
    "CREATE INDEX idempotency_expires ON idempotency(expires_at);"
    "CREATE INDEX rate_limits_expires ON rate_limits(expires_at);",
    /* 17: what plugins logged in a run (fh_log), in order, bounded per
     * run (store.h's STORE_RUN_LOGS). */
    "CREATE TABLE run_logs ("
    "  run_id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  level TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  PRIMARY KEY (run_id, seq)) WITHOUT ROWID;",
    /* 18: retention asks whether a debounce still has an event. */
    "CREATE INDEX debounces_event ON debounces(event_id);",
};

/* A new store frees the pages that retention empties (PRAGMA
 * incremental_vacuum): this must come before its first table, and before
 * WAL mode, which writes a new file's header. On an older store it does
 * nothing: that one reuses the pages instead. */
const char store_new_sql[] = "PRAGMA auto_vacuum = INCREMENTAL;";

const int store_nmigrations =
    (int)(sizeof(store_migrations) / sizeof(store_migrations[0]));

const char *const store_stmt_sql[NSTMT] = {
    [S_INS_EVENT] = "INSERT INTO events(id, name, user_id, ts, received_at,"
                    " json) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(id) DO NOTHING",
    [S_INS_RUN] = "INSERT INTO runs(id, function_id, event_id, status,"
                  " attempt, wake_at, created_at, updated_at,"
                  " parent_run_id, parent_step_id, deadline, conc_key1,"
                  " conc_key2, throttle_key, priority)"
                  " VALUES (?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?, ?, ?, ?,"
                  " ?, ?)",
    /* Keys (store.c's key_check()): their expires_at, however old. */
    [S_GET_DEDUP] = "SELECT expires_at FROM dedup WHERE function_id = ? AND"
                    " key = ?",
    [S_PUT_DEDUP] = "INSERT OR REPLACE INTO dedup(function_id, key, run_id,"
                    " expires_at) VALUES (?, ?, ?, ?)",
    [S_GET_IDEM] = "SELECT expires_at FROM idempotency WHERE function_id = ?"
                   " AND key = ?",
    [S_PUT_IDEM] = "INSERT OR REPLACE INTO idempotency(function_id, key,"
                   " run_id, expires_at) VALUES (?, ?, ?, ?)",
    [S_GET_RATE] = "SELECT expires_at FROM rate_limits WHERE function_id = ?"
                   " AND key = ?",
    [S_PUT_RATE] = "INSERT OR REPLACE INTO rate_limits(function_id, key,"
                   " run_id, expires_at) VALUES (?, ?, ?, ?)",
    [S_GET_THROTTLE] = "SELECT tat FROM throttles WHERE function_id = ?"
                       " AND key = ?",
    [S_PUT_THROTTLE] = "INSERT OR REPLACE INTO throttles(function_id, key,"
                       " tat) VALUES (?, ?, ?)",
    /* A key's runs that have not ended, and whether a cancel was asked
     * for them yet. */
    [S_SINGLETON_ACTIVE] = "SELECT id, cancel_at IS NULL FROM runs"
                           " WHERE function_id = ? AND singleton_key = ?"
                           " AND status IN (" RUN_LIVE_SQL ")",
    [S_SET_SINGLETON] = "UPDATE runs SET singleton_key = ? WHERE id = ?",
    [S_INS_SKIP] = "INSERT OR IGNORE INTO skipped(event_id, function_id,"
                   " reason, at) VALUES (?, ?, ?, ?)",
    /* The first start replaces a timeouts.start deadline by the
     * timeouts.finish one (?5 ms after it; NULL for none). */
    [S_START_RUN] = "UPDATE runs SET status = 'running', attempt = ?1,"
                    " started_at = coalesce(started_at, ?2),"
                    " deadline = CASE WHEN started_at IS NULL THEN ?2 + ?5"
                    " ELSE deadline END, updated_at = ?3"
                    " WHERE id = ?4"
                    " AND status IN ('queued', 'sleeping', 'concurrency')",
    [S_WAKE_STEPS] = "UPDATE steps SET status = 'completed', ended_at = ?"
                     " WHERE run_id = ? AND status = 'sleeping'"
                     " AND wake_at <= ?",
    [S_END_ATTEMPT] = "INSERT INTO attempts(run_id, step_id, attempt,"
                      " started_at, ended_at, error)"
                      " VALUES (?, ?, ?, ?, ?, ?)",
    [S_PUT_STEP] = "INSERT OR REPLACE INTO steps(run_id, step_id, name,"
                   " kind, status, result, error, attempts, started_at,"
                   " ended_at, wake_at, committed_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [S_STEP_RUN] = "UPDATE runs SET attempt = 0, status = 'running',"
                   " started_at = coalesce(started_at, ?1),"
                   " deadline = CASE WHEN started_at IS NULL THEN NULL"
                   " ELSE deadline END, updated_at = ?2 WHERE id = ?3",
    /* A run that ends drops its deadline; one that started without
     * S_START_RUN (its function has no timeouts now) met its start one. */
    [S_FINISH_RUN] = "UPDATE runs SET status = ?1, attempt = ?2,"
                     " wake_at = ?3, output = ?4, error = ?5, ended_at = ?6,"
                     " updated_at = ?7, started_at = coalesce(started_at, ?8),"
                     " deadline = CASE WHEN ?1 IN ('completed', 'failed')"
                     " OR started_at IS NULL THEN NULL ELSE deadline END"
                     " WHERE id = ?9",
    /* Cancelled at once: a run that waits (queued, retrying, sleeping,
     * fetching: the host's request, made or not, is no longer its;
     * waiting for an event; invoking: the run it invoked goes on). */
    [S_CANCEL_NOW] = "UPDATE runs SET status = 'cancelled',"
                     " cancel_at = coalesce(cancel_at, ?1),"
                     " cancel_reason = coalesce(cancel_reason, ?2),"
                     " error = coalesce(cancel_reason, ?2), ended_at = ?1,"
                     " deadline = NULL, updated_at = ?1"
                     " WHERE id = ?3"
                     " AND status IN (" RUN_HELD_SQL ")",
    /* Cancelled at its next step boundary: a run on a worker (?4 = 1),
     * which shows as running from now on even if it is new and has not
     * written a checkpoint yet. */
    [S_CANCEL_FLAG] = "UPDATE runs SET cancel_at = coalesce(cancel_at, ?1),"
                      " cancel_reason = coalesce(cancel_reason, ?2),"
                      " status = CASE WHEN ?4 THEN 'running' ELSE status END,"
                      " updated_at = ?1 WHERE id = ?3"
                      " AND status IN (" RUN_LIVE_SQL ")",
    /* After an attempt's outcome: a run whose cancel was asked for ends
     * cancelled rather than going on (?3 = 1: whether or not it was,
     * when the worker stopped at a cancel). Completed and failed runs
     * ended on their own and stay so. */
    [S_CANCEL_PENDING] = "UPDATE runs SET status = 'cancelled',"
                         " cancel_at = coalesce(cancel_at, ?1),"
                         " error = coalesce(cancel_reason, 'cancelled'),"
                         " ended_at = ?1, deadline = NULL, updated_at = ?1"
                         " WHERE id = ?2 AND (cancel_at IS NOT NULL OR ?3)"
                         " AND status IN (" RUN_LIVE_SQL ")",
    /* At start: runs left running go back to the queue, unless a cancel
     * was asked for them, which ends them now; so does a cancel asked for
     * a new run that was on a worker before its first checkpoint. */
    [S_REQUEUE] = "UPDATE runs SET"
                  " status = CASE WHEN cancel_at IS NULL THEN 'queued'"
                  " ELSE 'cancelled' END,"
                  " error = CASE WHEN cancel_at IS NULL THEN error"
                  " ELSE coalesce(cancel_reason, 'cancelled') END,"
                  " ended_at = CASE WHEN cancel_at IS NULL THEN ended_at"
                  " ELSE ?1 END,"
                  " deadline = CASE WHEN cancel_at IS NULL THEN deadline END,"
                  " updated_at = ?1 WHERE status = 'running'"
                  " OR (cancel_at IS NOT NULL"
                  " AND status IN (" RUN_HELD_SQL "))",
    /* An invoke whose time ran out fails, with the error the memo of a
     * resume gives it (steprules_invoke_timeout()). */
    /* The runs whose invoke ran out of time: the writer alone decides an
     * invoke's end, an invoked run's end or this, whichever it commits
     * first. The step's result says what was invoked, for the error. */
    [S_DUE_INVOKES] = "SELECT id FROM runs WHERE status = 'invoking'"
                      " AND wake_at <= ? ORDER BY wake_at LIMIT ?",
    [S_TIMEOUT_INVOKES] = "UPDATE steps SET status = 'failed', error ="
                          " 'invoke ' || json_extract(result,"
                          " '$.function_id') || ': timed out after ' ||"
                          " json_extract(result, '$.timeout'),"
                          " result = NULL, ended_at = ?"
                          " WHERE run_id = ? AND status = 'invoking'",
    [S_GET_PARENT] = "SELECT parent_run_id, parent_step_id, function_id,"
                     " target_step FROM runs WHERE id = ?"
                     " AND parent_run_id IS NOT NULL",
    /* A branch of group ?3 of run ?2 (whose function and event it
     * shares), running step ?4, due now. */
    [S_INS_BRANCH] = "INSERT INTO runs(id, function_id, event_id, status,"
                     " attempt, wake_at, created_at, updated_at,"
                     " parent_run_id, parent_step_id, target_step)"
                     " SELECT ?1, function_id, event_id, 'queued', 0, ?5,"
                     " ?5, ?5, id, ?3, ?4 FROM runs WHERE id = ?2",
    /* A branch that ended without its step's outcome (it failed, or was
     * cancelled): the step fails with why, under the name the plan gave
     * it, unless it has an outcome already. */
    [S_FAIL_BRANCH] = "INSERT INTO steps(run_id, step_id, name, kind,"
                      " status, error, attempts, started_at, ended_at,"
                      " committed_at)"
                      " SELECT ?1, ?2, coalesce((SELECT b.value ->> 'name'"
                      " FROM steps g, json_each(g.result, '$.branches') b"
                      " WHERE g.run_id = ?1 AND g.step_id = ?3"
                      " AND b.value ->> 'id' = ?2), ?2), 'run', 'failed',"
                      " ?4, 1, ?5, ?5, ?5"
                      /* Only while its group is pending: a race's loser
                       * ends without an outcome of its own. */
                      " WHERE EXISTS (SELECT 1 FROM steps g"
                      " WHERE g.run_id = ?1 AND g.step_id = ?3"
                      " AND g.status = 'parallel')"
                      " ON CONFLICT(run_id, step_id) DO NOTHING",
    /* A group that ended leaves none of its branches to start: a race's
     * losers not yet on a worker are cancelled with its end. */
    [S_DROP_LOSERS] = "UPDATE runs SET status = 'cancelled',"
                      " error = 'its group ended: another branch won the"
                      " race', ended_at = ?1, updated_at = ?1,"
                      " deadline = NULL WHERE parent_run_id = ?2"
                      " AND parent_step_id = ?3 AND target_step IS NOT NULL"
                      " AND status = 'queued'",
    /* Group ?2 of run ?1 ends once no branch of it is pending (all
     * mode), or at its first branch's end (race: ?3 wins). */
    [S_END_GROUP] = "UPDATE steps SET status = 'completed', ended_at = ?4,"
                    " result = CASE WHEN result ->> 'mode' = 'race'"
                    " THEN json_set(result, '$.winner', ?3) ELSE result END"
                    " WHERE run_id = ?1 AND step_id = ?2"
                    " AND status = 'parallel'"
                    " AND (result ->> 'mode' = 'race' OR NOT EXISTS"
                    " (SELECT 1 FROM runs WHERE parent_run_id = ?1"
                    " AND parent_step_id = ?2 AND target_step IS NOT NULL"
                    " AND status NOT IN ('completed', 'failed',"
                    " 'cancelled')))",
    [S_WAKE_GROUP] = "UPDATE runs SET status = 'queued', wake_at = ?,"
                     " updated_at = ? WHERE id = ? AND status = 'parallel'",
    /* A run that ends cancelled takes its pending branches with it; one
     * on a worker ends as it would have (its step is recorded). */
    [S_CANCEL_BRANCHES] = "UPDATE runs SET status = 'cancelled',"
                          " error = 'cancelled with its run',"
                          " ended_at = ?1, updated_at = ?1, deadline = NULL"
                          " WHERE parent_run_id = ?2"
                          " AND target_step IS NOT NULL"
                          " AND status IN ('queued', 'sleeping')",
    /* Only while the invoke waits: once it timed out, a late end
     * changes nothing. */
    [S_RESOLVE_INVOKE] = "UPDATE steps SET status = ?, result = ?,"
                         " error = ?, ended_at = ? WHERE run_id = ?"
                         " AND step_id = ? AND status = 'invoking'",
    [S_WAKE_PARENT] = "UPDATE runs SET status = 'queued', wake_at = ?,"
                      " updated_at = ? WHERE id = ? AND status = 'invoking'",
    [S_PUT_FETCH] = "INSERT OR REPLACE INTO fetches(run_id, step_id, name,"
                    " request, attempt, due_at, started_at)"
                    " VALUES (?, ?, ?, ?, 0, ?, ?)",
    [S_FETCH_RETRY] = "UPDATE fetches SET attempt = ?, due_at = ?"
                      " WHERE run_id = ? AND step_id = ?",
    [S_DEL_FETCH] = "DELETE FROM fetches WHERE run_id = ? AND step_id = ?",
    [S_FETCH_RUN] = "UPDATE runs SET status = 'queued', attempt = 0,"
                    " wake_at = ?, updated_at = ?"
                    " WHERE id = ? AND status = 'fetching'",
    /* A cancelled run's fetches are not made, nor its waits resumed. */
    [S_CANCEL_FETCHES] = "DELETE FROM fetches WHERE run_id = ?",
    [S_CANCEL_PAUSES] = "DELETE FROM pauses WHERE run_id = ?",
    /* What a cancelled run's lifecycle events say of it (a parallel
     * branch emits none). */
    [S_RUN_TRIGGER] = "SELECT r.function_id, e.json FROM runs r"
                      " LEFT JOIN events e ON e.id = r.event_id"
                      " WHERE r.id = ? AND r.target_step IS NULL",
    /* At start, before S_REQUEUE: the runs it ends cancelled (a cancel
     * asked for them that no step boundary reached), each then ended as
     * any cancelled run is. */
    [S_CANCEL_AT_START] = "SELECT id FROM runs WHERE cancel_at IS NOT NULL"
                          " AND status IN (" RUN_LIVE_SQL ")",
    /* A run whose key is full moves into its key's queue (from the due
     * scan's, or back after it was taken from it); not one that ended or
     * whose cancel is asked for meanwhile. */
    [S_CONC_PARK] = "UPDATE runs SET status = 'concurrency', conc_wait = ?2,"
                    " updated_at = ?3 WHERE id = ?1 AND cancel_at IS NULL"
                    " AND status IN ('queued', 'sleeping', 'concurrency')",
    /* At start, before the rest: no run holds a slot, so every queue of
     * a key is due again, in its order. */
    [S_CONC_REQUEUE] = "UPDATE runs SET status = 'queued', conc_wait = NULL,"
                       " updated_at = ?1 WHERE status = 'concurrency'",
    [S_CRON_CLAIM] = "UPDATE cron_ticks SET last_tick = ?3"
                     " WHERE function_id = ?1 AND cron = ?2"
                     " AND last_tick < ?3",
    /* ?1: the schedules of the generation, [[function_id, cron], ...];
     * a new one starts at ?2, those no longer declared go. */
    [S_CRON_KEEP] = "INSERT OR IGNORE INTO cron_ticks(function_id, cron,"
                    " last_tick) SELECT j.value ->> 0, j.value ->> 1, ?2"
                    " FROM json_each(?1) j",
    [S_CRON_DROP] = "DELETE FROM cron_ticks WHERE NOT EXISTS (SELECT 1"
                    " FROM json_each(?1) j WHERE j.value ->> 0 ="
                    " function_id AND j.value ->> 1 = cron)",
    /* Retention (store.c's apply_prune()) looks at ?3 rows a batch, in
     * key order from after ?1 (the last it looked at) up to ?2 (a ULID
     * of its time bound): the last of them; then, among them, what may
     * go. So a batch costs the same however many old rows must stay. */
    [S_PRUNE_RUNS_END] = "SELECT max(id) FROM (SELECT id FROM runs WHERE"
                         " id > ?1 AND id < ?2 ORDER BY id LIMIT ?3)",
    /* Runs after ?1 up to ?2 that ended before ?3. */
    [S_PRUNE_RUNS] = "SELECT id FROM runs WHERE id > ?1 AND id <= ?2 AND"
                     " ended_at < ?3 AND status IN ('completed', 'failed',"
                     " 'cancelled')",
    [S_DEL_STEPS] = "DELETE FROM steps WHERE run_id = ?",
    [S_DEL_ATTEMPTS] = "DELETE FROM attempts WHERE run_id = ?",
    [S_DEL_FETCHES] = "DELETE FROM fetches WHERE run_id = ?",
    [S_DEL_PAUSES] = "DELETE FROM pauses WHERE run_id = ?",
    [S_DEL_RUN_EVENTS] = "DELETE FROM run_events WHERE run_id = ?",
    [S_DEL_RUN] = "DELETE FROM runs WHERE id = ?",
    [S_PRUNE_EVENTS_END] = "SELECT max(id) FROM (SELECT id FROM events"
                           " WHERE id > ?1 AND id < ?2 ORDER BY id"
                           " LIMIT ?3)",
    /* Events after ?1 up to ?2 received before ?3 that no run, a batch's
     * or a debounce's, still has. */
    [S_PRUNE_EVENTS] = "SELECT id FROM events e WHERE id > ?1 AND id <= ?2"
                       " AND received_at < ?3 AND NOT EXISTS (SELECT 1 FROM"
                       " runs WHERE event_id = e.id) AND NOT EXISTS"
                       " (SELECT 1 FROM run_events WHERE event_id = e.id)"
                       " AND NOT EXISTS (SELECT 1 FROM debounces WHERE"
                       " event_id = e.id)",
    [S_DEL_EVENT] = "DELETE FROM events WHERE id = ?",
    [S_DEL_SKIPPED] = "DELETE FROM skipped WHERE event_id = ?",
    /* Keys that have expired hold nothing: absent, they read the same. */
    [S_PRUNE_DEDUP] = "DELETE FROM dedup WHERE (function_id, key) IN"
                      " (SELECT function_id, key FROM dedup WHERE"
                      " expires_at < ?1 LIMIT ?2)",
    [S_PRUNE_IDEMPOTENCY] = "DELETE FROM idempotency WHERE (function_id,"
                            " key) IN (SELECT function_id, key FROM"
                            " idempotency WHERE expires_at < ?1 LIMIT ?2)",
    [S_PRUNE_RATE_LIMITS] = "DELETE FROM rate_limits WHERE (function_id,"
                            " key) IN (SELECT function_id, key FROM"
                            " rate_limits WHERE expires_at < ?1 LIMIT ?2)",
    /* A theoretical arrival time in the past is a full bucket, as no row
     * is (lib/gcra.c). */
    [S_PRUNE_THROTTLES] = "DELETE FROM throttles WHERE (function_id, key)"
                          " IN (SELECT function_id, key FROM throttles"
                          " WHERE tat < ?1 LIMIT ?2)",
    [S_DEL_RUN_LOGS] = "DELETE FROM run_logs WHERE run_id = ?",
    /* The next line of run ?1, unless it has ?6 already. */
    [S_PUT_LOG] = "INSERT INTO run_logs(run_id, seq, at, attempt, level,"
                  " message) SELECT ?1, coalesce(max(seq), 0) + 1, ?2, ?3,"
                  " ?4, ?5 FROM run_logs WHERE run_id = ?1"
                  " HAVING count(*) < ?6",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
};

/* TEMP: they live with the connection, not in the schema, so they need
 * no migration and a database opened by anything else is unaffected.
 * They cost the writer about 0.3 us per status change (sqlite3 3.40,
 * 200,000 inserts and updates with and without them), some 1 us of a
 * run's life. */
const char store_status_triggers[] =
    "CREATE TEMP TRIGGER runs_status_new AFTER INSERT ON main.runs"
    " BEGIN SELECT fnhost_status_moved(NULL, new.status); END;"
    "CREATE TEMP TRIGGER runs_status_moved AFTER UPDATE OF status"
    " ON main.runs WHEN old.status IS NOT new.status"
    " BEGIN SELECT fnhost_status_moved(old.status, new.status); END;"
    "CREATE TEMP TRIGGER runs_status_gone AFTER DELETE ON main.runs"
    " BEGIN SELECT fnhost_status_moved(old.status, NULL); END;";

/* Once, at open (after the store's quick_check, which reads it all). */
const char store_pending_count[] =
    "SELECT count(*) FILTER (WHERE status = 'queued'),"
    " count(*) FILTER (WHERE status = 'sleeping'),"
    " count(*) FILTER (WHERE status = 'waiting')"
    " FROM runs WHERE status IN ('queued', 'sleeping', 'waiting')";
