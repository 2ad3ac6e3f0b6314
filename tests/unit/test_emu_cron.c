/* examples/emulator/cron.c: gauth-emulator's unix-cron schedules (Cloud
 * Scheduler's format) and their next fire time in a time zone of the system's
 * tz database. Pure but for the zone files.
 *
 * Expected instants are Unix seconds computed once with python3's zoneinfo
 * (tzdata 2025b of Debian 12), e.g.
 *   int(datetime(2026,11,1,1,30,tzinfo=ZoneInfo("America/New_York"),
 *                fold=0).timestamp())
 * and written here as literals with the local and UTC time beside them. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "cron.h"

#define NY "America/New_York"
#define SYD "Australia/Sydney"

static emu_cron *parse_ok(const char *s) {
  char err[256] = "";
  emu_cron *c = emu_cron_parse(s, err, sizeof err);
  cr_assert_not_null(c, "'%s' refused: %s", s, err);
  cr_assert_str_empty(err, "'%s': err set on success: %s", s, err);
  return c;
}

/* The refusal of s, whose message must contain want. */
static void refused(const char *s, const char *want) {
  char err[256] = "";
  emu_cron *c = emu_cron_parse(s, err, sizeof err);
  cr_expect_null(c, "'%s' accepted", s);
  emu_cron_free(c);
  cr_expect(strstr(err, want) != NULL, "'%s': '%s' does not contain '%s'", s,
            err, want);
  cr_expect(strncmp(err, "schedule: ", 10) == 0, "'%s': '%s'", s, err);
}

static int64_t next(const char *sched, const char *tz, int64_t after) {
  emu_cron *c = parse_ok(sched);
  int64_t t = emu_cron_next(c, tz, after);
  emu_cron_free(c);
  return t;
}

#define expect_next(sched, tz, after, want)                     \
  do {                                                          \
    int64_t got_ = next(sched, tz, after);                      \
    cr_expect_eq(got_, (int64_t)(want),                         \
                 "'%s' in %s after %lld: %lld, want "           \
                 "%lld",                                        \
                 sched, tz ? tz : "(null)", (long long)(after), \
                 (long long)got_, (long long)(want));           \
  } while (0)

/* ---- parsing ------------------------------------------------------------- */

Test(emu_cron_parse, refuses_each_field_out_of_range) {
  char err[256];
  cr_assert_null(emu_cron_parse("* * 32 * *", err, sizeof err));
  cr_expect_str_eq(err, "schedule: day-of-month: 32 is out of range 1-31");
  refused("60 * * * *", "minute: 60 is out of range 0-59");
  refused("* 24 * * *", "hour: 24 is out of range 0-23");
  refused("* * 0 * *", "day-of-month: 0 is out of range 1-31");
  refused("* * * 0 *", "month: 0 is out of range 1-12");
  refused("* * * 13 *", "month: 13 is out of range 1-12");
  refused("* * * * 8", "day-of-week: 8 is out of range 0-7");
  refused("0-60 * * * *", "minute: 60 is out of range");
  refused("* 1,2,99 * * *", "hour: 99 is out of range");
  refused("99999999999999999999 * * * *", "minute: ");
}

Test(emu_cron_parse, refuses_garbage_naming_the_field) {
  refused("a * * * *", "minute: 'a'");
  refused("* 1x * * *", "hour: '1x' is not a number");
  refused("* * L * *", "day-of-month: 'L'");
  refused("* * * FOO *", "month: 'FOO'");
  refused("* * * JANUARY *", "month: 'JANUARY'");
  refused("* * * * XYZ", "day-of-week: 'XYZ'");
  refused("JAN * * * *", "minute: 'JAN'");      /* names: month only */
  refused("* * * MON *", "month: 'MON'");       /* not a month */
  refused("* * * * 1#2", "day-of-week: '1#2'"); /* Quartz's nth weekday */
  refused("* * ? * *", "day-of-month: '?'");    /* Quartz's no-value */
  refused("1,,2 * * * *", "minute: empty list element");
  refused("1, * * * *", "minute: empty list element");
  refused(",1 * * * *", "minute: empty list element");
  refused("* 5-1 * * *", "hour: range 5-1 is backwards");
  refused("* * * * FRI-MON", "day-of-week: range FRI-MON is backwards");
  refused("*/0 * * * *", "minute: step 0 is not allowed");
  refused("*/ * * * *", "minute: a step is missing");
  refused("*/x * * * *", "minute: step 'x' is not a number");
  refused("1-/2 * * * *", "minute: a value is missing");
  refused("-1 * * * *", "minute: a value is missing");
  refused("1-2-3 * * * *", "minute: '2-3' is not a number");
  refused("** * * * *", "minute: '**'");
}

Test(emu_cron_parse, refuses_wrong_field_counts) {
  refused("", "expected 5 fields");
  refused("   \t ", "found 0");
  refused("* * * *", "found 4");
  refused("* * * * * *", "found 6"); /* no seconds nor year field */
  refused("0 0 0 * * * *", "found 7");
}

Test(emu_cron_parse, refuses_app_engine_syntax_and_macros) {
  refused("every 5 minutes", "App Engine cron syntax");
  refused("every monday 09:00", "App Engine cron syntax");
  refused("1st monday of sep,oct,nov 17:00", "App Engine cron syntax");
  refused("first,third monday of month 09:00", "App Engine cron syntax");
  refused("@daily", "@daily");
}

Test(emu_cron_parse, null_and_no_err_buffer) {
  char err[64];
  cr_expect_null(emu_cron_parse(NULL, err, sizeof err));
  cr_expect_str_eq(err, "schedule: missing");
  cr_expect_null(emu_cron_parse("61 * * * *", NULL, 0));
  cr_expect_null(emu_cron_parse("61 * * * *", err, 0));
  emu_cron_free(NULL);
  /* a short buffer gets a truncated, terminated message */
  char small[12];
  cr_expect_null(emu_cron_parse("* * 32 * *", small, sizeof small));
  cr_expect_str_eq(small, "schedule: d");
}

Test(emu_cron_parse, garbage_is_quoted_short_and_printable) {
  char err[256];
  char sched[200];
  memset(sched, 'x', sizeof sched);
  memcpy(sched + 190, " * * *\x01", 8);
  sched[197] = ' ';
  sched[198] = '\x7f';
  sched[199] = '\0';
  cr_assert_null(emu_cron_parse(sched, err, sizeof err));
  cr_expect(strlen(err) < 100, "%s", err);
  for (const char *p = err; *p; p++)
    cr_expect(*p >= 0x20 && *p < 0x7f, "byte %d in %s", *p, err);
  cr_expect_null(emu_cron_parse("\x01 * * * *", err, sizeof err));
  cr_expect(strstr(err, "minute: '?'") != NULL, "%s", err);
}

Test(emu_cron_parse, accepts_cloud_scheduler_examples) {
  const char *ok[] = {
      "* * * * *",          "0 * * * *",       "*/5 * * * *",
      "0 9 * * 1",          "0 9 * * MON-FRI", "0 0 1 JAN,APR,JUL,OCT *",
      "1-30/2 * * * *",     "5/15 * * * *",    "0 */2 * * *",
      "0 0 1 * SAT",        "0 0 * * 0",       "0 0 * * 7",
      "0 0 * * 5-7",        "0 0 * * sun",     "0 0 1 jan *",
      "  0\t9  * *   1  ",  "0 0 29 2 *",      "59 23 31 12 *",
      "0,15,30,45 * * * *", "0-59/60 * * * *", "0 0 * * 0-7/2"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    emu_cron_free(parse_ok(ok[i]));
}

/* ---- next fire time in UTC ------------------------------------------------
 */

Test(emu_cron_next, minute_steps_wrap_at_the_hour) {
  /* 2026-01-01 10:50Z 1767264600, 10:56Z 1767264960, 11:00Z 1767265200 */
  expect_next("*/7 * * * *", NULL, 1767264600, 1767264960);
  expect_next("*/7 * * * *", NULL, 1767264960, 1767265200); /* not 11:03 */
  expect_next("*/7 * * * *", NULL, 1767264960 - 1, 1767264960);
  expect_next("*/5 * * * *", NULL, 1767264600 + 150, 1767264600 + 300);
  /* 5/15 is 5,20,35,50 */
  expect_next("5/15 * * * *", NULL, 1767264600, 1767265200 + 300);
  /* 1-30/2 is 1,3,...,29: after 10:50 comes 11:01 */
  expect_next("1-30/2 * * * *", NULL, 1767264600, 1767265200 + 60);
  expect_next("0-59/60 * * * *", NULL, 1767264600, 1767265200);
}

Test(emu_cron_next, strictly_after) {
  /* 2026-01-01 11:00Z 1767265200 */
  expect_next("0 * * * *", NULL, 1767265200, 1767265200 + 3600);
  expect_next("0 * * * *", "", 1767265200 - 1, 1767265200);
  expect_next("* * * * *", "UTC", 1767265200, 1767265200 + 60);
  expect_next("* * * * *", "utc", 1767265200 + 59, 1767265200 + 60);
}

Test(emu_cron_next, lists_ranges_names) {
  /* Sat 2026-12-05 12:00Z 1796472000 -> Mon 2026-12-07 09:00Z 1796634000 */
  expect_next("0 9 * * MON-FRI", NULL, 1796472000, 1796634000);
  expect_next("0 9 * * mon-fri", NULL, 1796472000, 1796634000);
  expect_next("0 9 * * 1-5", "Etc/UTC", 1796472000, 1796634000);
  /* 6,18h: Sat 12:00 -> Sat 18:00 */
  expect_next("0 6,18 * * *", NULL, 1796472000, 1796472000 + 6 * 3600);
  /* jan 1 from 2026-12-02 00:00Z 1796169600 -> 2027-01-01 00:00Z */
  expect_next("0 0 1 jan *", NULL, 1796169600, 1798761600);
  /* every quarter: from 2026-04-01 00:00Z 1775001600 -> 2026-07-01 */
  expect_next("0 0 1 JAN,APR,JUL,OCT *", "UTC", 1775001600, 1782864000);
}

Test(emu_cron_next, sunday_is_0_and_7) {
  /* Sat 2026-12-05 12:00Z 1796472000 -> Sun 2026-12-06 00:00Z 1796515200 */
  expect_next("0 0 * * 0", NULL, 1796472000, 1796515200);
  expect_next("0 0 * * 7", NULL, 1796472000, 1796515200);
  expect_next("0 0 * * SUN", NULL, 1796472000, 1796515200);
  expect_next("0 0 * * 6-7", NULL, 1796472000, 1796515200);
  /* 5-7: Fri, Sat, Sun; from Sun 12:00 -> Fri 2026-12-11 00:00Z */
  expect_next("0 0 * * 5-7", NULL, 1796515200 + 43200, 1796947200);
  expect_next("0 0 * * FRI-SUN", NULL, 1796515200 + 43200, 1796947200);
  expect_next("0 0 * * FRI-SUN", NULL, 1796472000, 1796515200);
  expect_next("0 0 * * 5-0", NULL, 1796472000, 1796515200);
}

Test(emu_cron_next, dom_or_dow_when_both_restricted) {
  /* "1 or Saturday": from Wed 2026-12-02 00:00Z 1796169600 -> Sat 12-05 */
  expect_next("0 0 1 * SAT", NULL, 1796169600, 1796428800);
  /* from Sun 2026-12-27 00:00Z 1798329600: Fri 2027-01-01 comes before
   * Sat 2027-01-02 */
  expect_next("0 0 1 * SAT", NULL, 1798329600, 1798761600);
  /* day-of-week unrestricted: the 1st only */
  expect_next("0 0 1 * *", NULL, 1796169600, 1798761600);
  /* day-of-month unrestricted: Saturdays only */
  expect_next("0 0 * * SAT", NULL, 1798329600, 1798761600 + 86400);
  /* "*\/2" restricts (odd days); 2026-12-02 is even, the 5th is a Sat: the
   * 3rd (odd) comes first */
  expect_next("0 0 */2 * SAT", NULL, 1796169600, 1796169600 + 86400);
}

Test(emu_cron_next, month_ends) {
  /* the 31st: from 2026-04-01 00:00Z 1775001600 April (30 days) is skipped:
   * 2026-05-31 00:00Z 1780185600 */
  expect_next("0 0 31 * *", NULL, 1775001600, 1780185600);
  /* the 31st of 30-day months never comes */
  expect_next("0 0 31 4,6,9,11 *", NULL, 1775001600, -1);
  expect_next("0 0 30 2 *", NULL, 1775001600, -1);
  /* the last minute of the year: 2026-12-31 23:59Z */
  expect_next("59 23 31 12 *", NULL, 1775001600, 1798761600 - 60);
}

Test(emu_cron_next, feb_29_only_in_leap_years) {
  /* from 2026-03-01 00:00Z 1772323200 -> 2028-02-29 00:00Z 1835395200 */
  expect_next("0 0 29 2 *", NULL, 1772323200, 1835395200);
  /* and after it, 2032-02-29 00:00Z 1961625600 */
  expect_next("0 0 29 2 *", NULL, 1835395200, 1961625600);
  /* 2097-03-01 00:00Z 4012934400: 2100 is not leap, 2104 is 7 years on */
  expect_next("0 0 29 2 *", NULL, 4012934400, -1);
}

Test(emu_cron_next, bad_arguments) {
  emu_cron *c = parse_ok("* * * * *");
  cr_expect_eq(emu_cron_next(NULL, NULL, 0), -1);
  cr_expect_eq(emu_cron_next(c, "Mars/Olympus_Mons", 1767265200), -1);
  cr_expect_eq(emu_cron_next(c, "../../etc/passwd", 1767265200), -1);
  cr_expect_eq(emu_cron_next(c, NULL, INT64_MAX), -1);
  cr_expect_eq(emu_cron_next(c, NY, INT64_MIN), -1);
  /* the epoch itself works */
  cr_expect_eq(emu_cron_next(c, NULL, 0), 60);
  emu_cron_free(c);
}

/* ---- America/New_York across 2026's two changes ---------------------------
 */

Test(emu_cron_next, new_york_spring_forward_skips_the_missing_time) {
  /* 2026-03-08 02:00 EST becomes 03:00 EDT: 02:30 does not exist that day.
   * after 2026-03-07 03:00 EST (08:00Z) 1772870400 -> 2026-03-09 02:30 EDT
   * (06:30Z) 1773037800 */
  expect_next("30 2 * * *", NY, 1772870400, 1773037800);
  /* hourly: after 2026-03-08 01:30 EST 1772951400 -> 03:00 EDT 1772953200
   * (07:00Z), one hour of wall clock lost */
  expect_next("0 * * * *", NY, 1772951400, 1772953200);
  /* 01:30 exists: 2026-03-08 01:30 EST (06:30Z) */
  expect_next("30 1 * * *", NY, 1772870400, 1772951400);
  /* every minute: 01:59 EST -> 03:00 EDT */
  expect_next("* * * * *", NY, 1772953200 - 60, 1772953200);
}

Test(emu_cron_next, new_york_fall_back_fires_once_at_first_pass) {
  /* 2026-11-01 02:00 EDT becomes 01:00 EST: 01:00-01:59 occurs twice.
   * 01:30 EDT (05:30Z) 1793511000; 01:30 EST (06:30Z) 1793514600 */
  /* after 2026-10-31 12:00Z 1793448000 -> the first 01:30 */
  expect_next("30 1 * * *", NY, 1793448000, 1793511000);
  /* after the first pass: not the second 01:30 but 2026-11-02 01:30 EST
   * (06:30Z) 1793601000 */
  expect_next("30 1 * * *", NY, 1793511000, 1793601000);
  expect_next("30 1 * * *", NY, 1793514600 - 1, 1793601000);
  /* hourly: 00:30 EDT 1793507400 -> 01:00 EDT (05:00Z) 1793509200, then
   * 02:00 EST (07:00Z) 1793516400 (the second 01:00 EST, 06:00Z, is not) */
  expect_next("0 * * * *", NY, 1793507400, 1793509200);
  expect_next("0 * * * *", NY, 1793509200, 1793516400);
  /* 02:30 exists once: 02:30 EST (07:30Z) 1793518200 */
  expect_next("30 2 * * *", NY, 1793448000, 1793518200);
  /* every 15 minutes: 01:45 EDT 1793511900 -> 02:00 EST */
  expect_next("*/15 * * * *", NY, 1793511900, 1793516400);
  /* in the second pass itself (01:10 EST, 06:10Z): next is 02:00 EST */
  expect_next("* * * * *", NY, 1793513400, 1793516400);
}

/* ---- Australia/Sydney: the southern hemisphere ----------------------------
 */

Test(emu_cron_next, sydney_both_changes) {
  /* 2026-10-04 02:00 AEST becomes 03:00 AEDT: after 2026-10-03 03:00 AEST
   * 1790960400 -> 2026-10-05 02:30 AEDT (2026-10-04 15:30Z) 1791127800 */
  expect_next("30 2 * * *", SYD, 1790960400, 1791127800);
  /* 2026-04-05 03:00 AEDT becomes 02:00 AEST: 02:30 AEDT (2026-04-04
   * 15:30Z) 1775316600 fires, 02:30 AEST 1775320200 does not */
  expect_next("30 2 * * *", SYD, 1775264400, 1775316600);
  expect_next("30 2 * * *", SYD, 1775316600, 1775406600);
  /* 09:00 in summer is 22:00Z the day before: 2026-12-09 22:00Z */
  expect_next("0 9 * * *", SYD, 1796817600, 1796853600);
  /* and in winter 23:00Z: 2026-07-09 23:00Z */
  expect_next("0 9 * * *", SYD, 1783598400, 1783638000);
}

/* ---- zone names -----------------------------------------------------------
 */

Test(emu_tz_valid, names) {
  cr_expect_eq(emu_tz_valid(NULL), 1);
  cr_expect_eq(emu_tz_valid(""), 1);
  cr_expect_eq(emu_tz_valid("UTC"), 1);
  cr_expect_eq(emu_tz_valid("utc"), 1);
  cr_expect_eq(emu_tz_valid("Etc/UTC"), 1);
  cr_expect_eq(emu_tz_valid(NY), 1);
  cr_expect_eq(emu_tz_valid(SYD), 1);
  cr_expect_eq(emu_tz_valid("America/Argentina/Buenos_Aires"), 1);
  cr_expect_eq(emu_tz_valid("Etc/GMT+5"), 1);
  cr_expect_eq(emu_tz_valid("Mars/Olympus_Mons"), 0);
  cr_expect_eq(emu_tz_valid("America/New_York "), 0);
  cr_expect_eq(emu_tz_valid("america/new_york"), 0);
  cr_expect_eq(emu_tz_valid("America"), 0); /* a directory */
  cr_expect_eq(emu_tz_valid("America/"), 0);
  cr_expect_eq(emu_tz_valid("zone.tab"), 0); /* not a zone file */
  cr_expect_eq(emu_tz_valid("/usr/share/zoneinfo/UTC"), 0);
  cr_expect_eq(emu_tz_valid("../zoneinfo/UTC"), 0);
  cr_expect_eq(emu_tz_valid("America/../UTC"), 0);
  cr_expect_eq(emu_tz_valid("posix/UTC"), 0);
  cr_expect_eq(emu_tz_valid("localtime"), 0);
  cr_expect_eq(emu_tz_valid("EST5EDT,M3.2.0,M11.1.0"), 0); /* POSIX rule */
}

/* ---- the process's TZ -----------------------------------------------------
 */

Test(emu_cron_next, restores_tz) {
  emu_cron *c = parse_ok("0 * * * *");
  cr_assert_eq(setenv("TZ", "Europe/Paris", 1), 0);
  cr_expect_eq(emu_cron_next(c, NY, 1793507400), 1793509200);
  cr_expect_str_eq(getenv("TZ"), "Europe/Paris");
  cr_assert_eq(unsetenv("TZ"), 0);
  cr_expect_eq(emu_cron_next(c, NY, 1793507400), 1793509200);
  cr_expect_null(getenv("TZ"));
  emu_cron_free(c);
}

/* ---- threads and speed ----------------------------------------------------
 */

typedef struct {
  const char *tz;
  int64_t after, want;
  int bad;
} thread_case;

static void *run_case(void *arg) {
  thread_case *tc = arg;
  emu_cron *c = emu_cron_parse("30 2 * * *", NULL, 0);
  for (int i = 0; i < 200; i++)
    if (emu_cron_next(c, tc->tz, tc->after) != tc->want) tc->bad++;
  emu_cron_free(c);
  return NULL;
}

Test(emu_cron_next, threads_in_different_zones) {
  thread_case cases[4] = {
      {NY, 1772870400, 1773037800, 0},
      {SYD, 1790960400, 1791127800, 0},
      {NULL, 1772870400, 1772937000, 0}, /* 2026-03-08 02:30Z */
      {NY, 1793448000, 1793518200, 0},
  };
  pthread_t th[4];
  setenv("TZ", "UTC", 1);
  for (int i = 0; i < 4; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, run_case, &cases[i]), 0);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++)
    cr_expect_eq(cases[i].bad, 0, "case %d: %d wrong", i, cases[i].bad);
}

/* A tick of a few hundred jobs, some with rare schedules, must be cheap: no
 * minute-by-minute scan. 300 jobs x 3 zones well under a second (measured:
 * a few milliseconds; generous for valgrind and busy machines). */
Test(emu_cron_next, a_tick_of_hundreds_of_jobs_is_fast) {
  const char *scheds[] = {"0 0 29 2 *",  "0 0 31 12 *",     "0 0 30 2 *",
                          "*/5 * * * *", "0 9 * * MON-FRI", "59 23 * * 0"};
  const char *zones[] = {NULL, NY, SYD};
  emu_cron *cs[6];
  for (int i = 0; i < 6; i++) cs[i] = parse_ok(scheds[i]);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int j = 0; j < 300; j++)
    for (int z = 0; z < 3; z++)
      (void)emu_cron_next(cs[j % 6], zones[z], 1767265200 + j * 61);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double secs =
      (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  cr_expect(secs < 5.0, "900 calls took %.3f s", secs);
  cr_log_info("900 emu_cron_next calls: %.3f s", secs);
  for (int i = 0; i < 6; i++) emu_cron_free(cs[i]);
}

/* ---- against a minute-by-minute reference -------------------------------- */

/* A small deterministic generator (an LCG: reproducible in every run). */
static uint32_t rnd_state = 12345;
static int rnd(int n) {
  rnd_state = rnd_state * 1103515245u + 12345u;
  return (int)((rnd_state >> 16) % (uint32_t)n);
}

typedef struct {
  char text[64];
  bool set[8][60]; /* [field][value] */
  bool star[5];
} gen_sched;

/* Appends one random field of values lo..hi to g (field f); "*" ranges
 * over lo..star_hi. Returns the text appended. */
static void gen_field(gen_sched *g, int f, int lo, int hi, int star_hi) {
  char part[24];
  int kind = rnd(6);
  bool *set = g->set[f];
  g->star[f] = kind == 0;
  if (kind == 0) {
    snprintf(part, sizeof part, "*");
    for (int v = lo; v <= star_hi; v++) set[v] = true;
  } else if (kind == 1) {
    int v = lo + rnd(hi - lo + 1);
    snprintf(part, sizeof part, "%d", v);
    set[v] = true;
  } else if (kind == 2 || kind == 4) {
    int a = lo + rnd(hi - lo + 1), b = a + rnd(hi - a + 1);
    int st = kind == 4 ? 1 + rnd(7) : 1;
    if (kind == 4)
      snprintf(part, sizeof part, "%d-%d/%d", a, b, st);
    else
      snprintf(part, sizeof part, "%d-%d", a, b);
    for (int v = a; v <= b; v += st) set[v] = true;
  } else if (kind == 3) {
    int st = 1 + rnd(hi - lo + 1);
    snprintf(part, sizeof part, "*/%d", st);
    for (int v = lo; v <= star_hi; v += st) set[v] = true;
  } else {
    int a = lo + rnd(hi - lo + 1), b = lo + rnd(hi - lo + 1);
    snprintf(part, sizeof part, "%d,%d", a, b);
    set[a] = set[b] = true;
  }
  if (f == 4 && set[7]) set[0] = true; /* 7 is Sunday */
  strcat(g->text, part);
  if (f < 4) strcat(g->text, " ");
}

static void gen(gen_sched *g) {
  memset(g, 0, sizeof *g);
  gen_field(g, 0, 0, 59, 59);
  gen_field(g, 1, 0, 23, 23);
  gen_field(g, 2, 1, 31, 31);
  gen_field(g, 3, 1, 12, 12);
  gen_field(g, 4, 0, 7, 6);
}

static bool ref_matches(const gen_sched *g, const struct tm *tm) {
  if (!g->set[0][tm->tm_min] || !g->set[1][tm->tm_hour] ||
      !g->set[3][tm->tm_mon + 1])
    return false;
  bool dom = g->set[2][tm->tm_mday], dow = g->set[4][tm->tm_wday];
  if (g->star[2] && g->star[4]) return true;
  if (g->star[2]) return dow;
  if (g->star[4]) return dom;
  return dom || dow;
}

static bool same_wall(const struct tm *a, const struct tm *b) {
  return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon &&
         a->tm_mday == b->tm_mday && a->tm_hour == b->tm_hour &&
         a->tm_min == b->tm_min;
}

/* The reference: every minute of [after, after + span] in the zone the
 * process's TZ names; a wall time an hour earlier already showed (the second
 * pass of a repeated hour: both zones tested shift by one hour) does not
 * fire. -2: nothing within the span. */
static int64_t ref_next(const gen_sched *g, int64_t after, int64_t span) {
  for (int64_t t = (after / 60) * 60 + 60; t <= after + span; t += 60) {
    time_t tt = (time_t)t, prev = (time_t)(t - 3600);
    struct tm tm, ptm;
    localtime_r(&tt, &tm);
    if (!ref_matches(g, &tm)) continue;
    localtime_r(&prev, &ptm);
    if (same_wall(&tm, &ptm)) continue;
    return t;
  }
  return -2;
}

Test(emu_cron_next, random_schedules_agree_with_a_minute_scan) {
  static const struct {
    const char *tz;
    int64_t from; /* a day before a change */
  } windows[] = {
      {"UTC", 1772323200},           /* 2026-03-01 */
      {NY, 1772870400},              /* 2026-03-07 08:00Z, spring forward */
      {NY, 1793448000},              /* 2026-10-31 12:00Z, fall back */
      {SYD, 1775264400},             /* 2026-04-04 12:00 AEDT, fall back */
      {SYD, 1790960400},             /* 2026-10-03 03:00 AEST, spring forward */
      {"Europe/London", 1774742400}, /* 2026-03-29 00:00Z, spring forward */
  };
  const int64_t span = 2 * 86400;
  int compared = 0, fired = 0;
  for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
    cr_assert_eq(setenv("TZ", windows[w].tz, 1), 0);
    tzset();
    for (int i = 0; i < 40; i++) {
      gen_sched g;
      gen(&g);
      /* keep the window's month and day so that most schedules fire */
      if (rnd(2)) {
        char *sp = strchr(strchr(strchr(g.text, ' ') + 1, ' ') + 1, ' ');
        char rest[64];
        snprintf(rest, sizeof rest, "%s", strchr(sp + 1, ' '));
        snprintf(sp, sizeof g.text - (size_t)(sp - g.text), " *%s", rest);
        for (int v = 1; v <= 12; v++) g.set[3][v] = true;
        g.star[3] = true;
      }
      int64_t after = windows[w].from + rnd(86400);
      char err[256];
      emu_cron *c = emu_cron_parse(g.text, err, sizeof err);
      cr_assert_not_null(c, "'%s': %s", g.text, err);
      int64_t got = emu_cron_next(c, windows[w].tz, after);
      int64_t want = ref_next(&g, after, span);
      emu_cron_free(c);
      if (want == -2)
        cr_expect(got == -1 || got > after + span,
                  "'%s' in %s after %lld: %lld, want none within 2 days",
                  g.text, windows[w].tz, (long long)after, (long long)got);
      else
        cr_expect_eq(got, want, "'%s' in %s after %lld: %lld, want %lld",
                     g.text, windows[w].tz, (long long)after, (long long)got,
                     (long long)want);
      compared++;
      fired += want != -2;
    }
  }
  cr_log_info("%d schedules compared, %d fired within 2 days", compared, fired);
  cr_expect_gt(fired, compared / 4, "too few schedules fired: %d", fired);
}

/* Random text never crashes the parser: a schedule or a "schedule: "
 * message. */
Test(emu_cron_parse, random_text) {
  static const char alphabet[] = "0123456789*/-,  \tJANMONsunLx#?";
  for (int i = 0; i < 20000; i++) {
    char s[40];
    int n = rnd(sizeof s);
    for (int k = 0; k < n; k++) s[k] = alphabet[rnd(sizeof alphabet - 1)];
    s[n] = '\0';
    char err[128] = "";
    emu_cron *c = emu_cron_parse(s, err, sizeof err);
    if (c) {
      cr_expect_str_empty(err, "'%s'", s);
      int64_t t = emu_cron_next(c, NULL, 1767265200);
      cr_expect(t == -1 || t > 1767265200, "'%s': %lld", s, (long long)t);
      emu_cron_free(c);
    } else {
      cr_expect(strncmp(err, "schedule: ", 10) == 0, "'%s': '%s'", s, err);
    }
  }
}
