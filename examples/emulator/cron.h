/* gauth-emulator: Cloud Scheduler's unix-cron schedules and time zones. A
 * pure module: no I/O besides reading the system's time-zone database.
 *
 * FORMAT (cloud.google.com/scheduler/docs/configuring/cron-job-schedules):
 * five fields separated by spaces or tabs,
 *
 *   minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or JAN-DEC)
 *   day-of-week (0-6 or SUN-SAT; 7 is Sunday too)
 *
 * each a comma-separated list of `*`, `N`, `N-M` (inclusive, N <= M), with an
 * optional step `/S` (S >= 1) after `*` or a range (`*\/5`, `1-30/2`). `N/S`
 * is read as `N-max/S` (an extension of Vixie cron's grammar that Google's
 * page does not mention; accepted, not refused, since the emulator is lenient
 * where Google is silent). Names are case-insensitive (Google's page writes
 * them in upper case) and may be range ends (`MON-FRI`); a day-of-week range
 * ending on Sunday may end on 0 or SUN (`FRI-SUN` is `5-7`).
 *
 * Day-of-month and day-of-week: when both are restricted, a day matches if
 * either matches (Google's page: "an inclusive OR"); a field is unrestricted
 * only when it is exactly `*` (so `*\/2` restricts, as the page words it).
 * There is no `L`, `W`, `#`, `?` nor seconds field (the page: "Cloud
 * Scheduler does not support L").
 *
 * Refused with a message naming the field: a wrong number of fields, an empty
 * field or list element, a value out of range, a backwards range, a step of 0,
 * anything else. Example: "schedule: day-of-month: 32 is out of range 1-31".
 *
 * NOT SUPPORTED (refused clearly): Cloud Scheduler also accepts the legacy App
 * Engine cron.yaml syntax ("every 5 minutes", "every monday 09:00", "1st
 * monday of sep"), which the page calls the "alternative job format"; here it
 * is refused with "schedule: the App Engine cron syntax ("every ...") is not
 * supported by gauth-emulator; use unix-cron". Macros such as `@daily`, which
 * Google's page does not list, are refused too.
 *
 * TIME ZONES: IANA names of the system's tz database (TZDIR, else
 * /usr/share/zoneinfo), as Cloud Scheduler's Job.timeZone takes them. NULL,
 * "" and "utc" in any case (Google: "For UTC use the string utc") are UTC and
 * need no database. Names under posix/ or right/ and the files localtime and
 * posixrules are not zone names and are refused.
 *
 * DAYLIGHT SAVING TIME: Google's page says only that "daylight saving time can
 * cause jobs to run or not run unexpectedly" because Cloud Scheduler "runs on
 * wall clock time", and recommends UTC. It does not say which instant a job
 * in the skipped or repeated hour gets, so this module chooses (as Vixie
 * cron's man page describes the skip, and as EventBridge Scheduler documents
 * both):
 *   - a local time that does not exist (the skipped hour when clocks go
 *     forward: 2026-03-08 02:30 in America/New_York) does not fire that day;
 *   - a local time that occurs twice (clocks go back: 2026-11-01 01:30 in
 *     America/New_York) fires once, at its first occurrence (01:30 EDT); the
 *     second pass of the repeated hour fires nothing, so "*\/15 * * * *" goes
 *     01:45 EDT -> 02:00 EST that night.
 *
 * LIMITS: emu_cron_next returns -1 as well when c is NULL, when tz is not
 * a zone emu_tz_valid accepts, or when `after` lies outside the years
 * 1900-9000. "Within 5 years" means within 5 * 365 + 2 days of `after`:
 * "0 0 29 2 *" finds 2028-02-29 from 2026, nothing from 2097 (2100 is no
 * leap year). Cost: a day that does not match costs some arithmetic, a
 * matching day a few localtime_r calls per candidate time; 900 calls in three
 * zones take about 50 ms here (tests/unit/test_emu_cron.c).
 *
 * THREAD SAFETY: every function is thread-safe. emu_cron_next for a zone
 * other than UTC sets the TZ environment variable, calls tzset() and
 * localtime_r() under one process-wide mutex, and restores the previous TZ
 * before it returns. So other threads of the process must not use local time
 * (localtime, mktime, strftime %Z, getenv("TZ")): the emulator uses UTC
 * everywhere. With glibc, setenv/unsetenv of a variable that is absent
 * reallocates or shifts the environment array while another thread's getenv
 * (libcurl reads proxy variables) may scan it: a program that calls
 * emu_cron_next from threads should set TZ once at start-up, before it starts
 * threads (setenv("TZ", "UTC", 1)), so that each change is a replacement in
 * place, which glibc makes safe for concurrent getenv. */
#ifndef GAUTH_EMULATOR_CRON_H
#define GAUTH_EMULATOR_CRON_H

#include <stddef.h>
#include <stdint.h>

typedef struct emu_cron emu_cron;

/* Parses a unix-cron schedule as Cloud Scheduler accepts it. NULL, with a
 * message naming the field at fault in err, on failure. */
emu_cron *emu_cron_parse(const char *schedule, char *err, size_t errlen);
void emu_cron_free(emu_cron *c);
/* 1 when the system tz database knows the zone (IANA name, e.g.
 * "America/New_York", "Etc/UTC", "UTC"); NULL or "" mean UTC (valid). */
int emu_tz_valid(const char *tz);
/* The first fire time strictly after `after` (Unix seconds) of schedule c
 * in zone tz (NULL/"" = UTC); -1 when none within 5 years. Thread-safe. */
int64_t emu_cron_next(const emu_cron *c, const char *tz, int64_t after);

#endif
