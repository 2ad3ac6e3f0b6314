/* gauth-emulator: unix-cron schedules in a time zone (see cron.h). */
#include "cron.h"

#include <assert.h>
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* ---- the parsed schedule ------------------------------------------------- */

struct emu_cron {
  uint64_t minutes; /* bit m: minute m (0-59) */
  uint32_t hours;   /* bit h: hour h (0-23) */
  uint32_t doms;    /* bit d: day of month d (1-31) */
  uint16_t months;  /* bit m: month m (1-12) */
  uint8_t dows;     /* bit w: weekday w (0-6, Sunday 0) */
  bool dom_star;    /* day-of-month is exactly "*" */
  bool dow_star;    /* day-of-week is exactly "*" */
};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

typedef struct field_spec {
  const char *name;
  int min, max;             /* accepted values (day-of-week: 0-7) */
  int star_max;             /* the end of "*" (day-of-week: 6) */
  const char *const *names; /* 3-letter names of min, min+1, ...; or NULL */
} field_spec;

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY",
                                          "JUN", "JUL", "AUG", "SEP", "OCT",
                                          "NOV", "DEC", NULL};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED",
                                        "THU", "FRI", "SAT", NULL};

static const field_spec fields[F_COUNT] = {
    {"minute", 0, 59, 59, NULL},         {"hour", 0, 23, 23, NULL},
    {"day-of-month", 1, 31, 31, NULL},   {"month", 1, 12, 12, month_names},
    {"day-of-week", 0, 7, 6, dow_names},
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* Copies [s, s+n) into out for an error message: printable ASCII only (others
 * become '?'), at most 24 characters then "...". */
static void quote_token(char *out, size_t outlen, const char *s, size_t n) {
  size_t o = 0, i;
  for (i = 0; i < n && o + 4 < outlen && i < 24; i++)
    out[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  if (i < n && o + 4 <= outlen) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

/* One value of a field: a number or (months, weekdays) a 3-letter name.
 * Returns false with err set. */
static bool parse_value(const field_spec *f, const char *s, size_t n, int *out,
                        char *err, size_t errlen) {
  char tok[32];
  quote_token(tok, sizeof tok, s, n);
  if (n == 0) {
    set_err(err, errlen, "schedule: %s: a value is missing", f->name);
    return false;
  }
  if (isdigit((unsigned char)s[0])) {
    long v = 0;
    for (size_t i = 0; i < n; i++) {
      if (!isdigit((unsigned char)s[i])) {
        set_err(err, errlen, "schedule: %s: '%s' is not a number", f->name,
                tok);
        return false;
      }
      if (v < 100000) v = v * 10 + (s[i] - '0');
    }
    if (v < f->min || v > f->max) {
      set_err(err, errlen, "schedule: %s: %s is out of range %d-%d", f->name,
              tok, f->min, f->max);
      return false;
    }
    *out = (int)v;
    return true;
  }
  if (f->names && n == 3) {
    for (int i = 0; f->names[i]; i++) {
      if (toupper((unsigned char)s[0]) == f->names[i][0] &&
          toupper((unsigned char)s[1]) == f->names[i][1] &&
          toupper((unsigned char)s[2]) == f->names[i][2]) {
        *out = f->min + i;
        return true;
      }
    }
  }
  if (f->names)
    set_err(err, errlen,
            "schedule: %s: '%s' is neither a number nor a name (%s-%s)",
            f->name, tok, f->names[0],
            f->names[f->max - f->min - (f->max == 7 ? 1 : 0)]);
  else
    set_err(err, errlen, "schedule: %s: '%s' is not a number", f->name, tok);
  return false;
}

/* One list element: "*", "N", "N-M", each with an optional "/S". Sets its
 * values in *bits. */
static bool parse_element(const field_spec *f, const char *s, size_t n,
                          uint64_t *bits, char *err, size_t errlen) {
  char tok[32];
  if (n == 0) {
    set_err(err, errlen, "schedule: %s: empty list element", f->name);
    return false;
  }
  const char *slash = memchr(s, '/', n);
  size_t rn = slash ? (size_t)(slash - s) : n;
  int lo, hi, step = 1;
  bool single = false;
  if (rn == 1 && s[0] == '*') {
    lo = f->min;
    hi = f->star_max;
  } else {
    const char *dash = memchr(s, '-', rn);
    if (dash) {
      if (!parse_value(f, s, (size_t)(dash - s), &lo, err, errlen) ||
          !parse_value(f, dash + 1, rn - (size_t)(dash - s) - 1, &hi, err,
                       errlen))
        return false;
      if (f->max == 7 && hi == 0 && lo > 0) hi = 7; /* FRI-SUN: 5-7 */
      if (hi < lo) {
        quote_token(tok, sizeof tok, s, rn);
        set_err(err, errlen, "schedule: %s: range %s is backwards", f->name,
                tok);
        return false;
      }
    } else {
      if (!parse_value(f, s, rn, &lo, err, errlen)) return false;
      hi = lo;
      single = true;
    }
  }
  if (slash) {
    const char *st = slash + 1;
    size_t sn = n - rn - 1;
    long v = 0;
    quote_token(tok, sizeof tok, st, sn);
    if (sn == 0) {
      set_err(err, errlen, "schedule: %s: a step is missing after '/'",
              f->name);
      return false;
    }
    for (size_t i = 0; i < sn; i++) {
      if (!isdigit((unsigned char)st[i])) {
        set_err(err, errlen, "schedule: %s: step '%s' is not a number", f->name,
                tok);
        return false;
      }
      if (v < 100000) v = v * 10 + (st[i] - '0');
    }
    if (v < 1) {
      set_err(err, errlen, "schedule: %s: step 0 is not allowed", f->name);
      return false;
    }
    step = (int)v;
    if (single) hi = f->star_max; /* N/S: from N to the end */
  }
  /* Every field's values fit in 64 bits (fields[] below). */
  assert(lo >= 0 && hi < 64);
  for (int v = lo; v <= hi; v += step) *bits |= (uint64_t)1 << v;
  return true;
}

static bool parse_field(const field_spec *f, const char *s, size_t n,
                        uint64_t *bits, char *err, size_t errlen) {
  *bits = 0;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == ',') {
      if (!parse_element(f, s + start, i - start, bits, err, errlen))
        return false;
      start = i + 1;
    }
  }
  return true;
}

/* Every form of App Engine's cron.yaml syntax has the word "every" ("every
 * 5 minutes", "every monday 09:00") or "of" ("1st,3rd monday of month
 * 09:00"), which no unix-cron field can be. */
static bool app_engine_word(const char *s, size_t n) {
  return (n == 5 && strncasecmp(s, "every", 5) == 0) ||
         (n == 2 && strncasecmp(s, "of", 2) == 0);
}

emu_cron *emu_cron_parse(const char *schedule, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!schedule) {
    set_err(err, errlen, "schedule: missing");
    return NULL;
  }
  const char *tok[F_COUNT + 1];
  size_t len[F_COUNT + 1];
  int count = 0;
  bool app_engine = false;
  const char *p = schedule;
  for (;;) {
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) break;
    const char *b = p;
    while (*p && *p != ' ' && *p != '\t') p++;
    if (app_engine_word(b, (size_t)(p - b))) app_engine = true;
    if (count <= F_COUNT) {
      tok[count] = b;
      len[count] = (size_t)(p - b);
    }
    count++;
  }
  if (app_engine) {
    set_err(err, errlen,
            "schedule: the App Engine cron syntax (\"every ...\") is not "
            "supported by gauth-emulator; use unix-cron (\"*/5 * * * *\")");
    return NULL;
  }
  if (count > 0 && tok[0][0] == '@') {
    set_err(err, errlen,
            "schedule: macros such as @daily are not part of Cloud "
            "Scheduler's unix-cron format");
    return NULL;
  }
  if (count != F_COUNT) {
    set_err(err, errlen,
            "schedule: expected 5 fields (minute hour day-of-month month "
            "day-of-week), found %d",
            count);
    return NULL;
  }
  uint64_t bits[F_COUNT];
  for (int i = 0; i < F_COUNT; i++)
    if (!parse_field(&fields[i], tok[i], len[i], &bits[i], err, errlen))
      return NULL;
  emu_cron *c = calloc(1, sizeof *c);
  if (!c) {
    set_err(err, errlen, "schedule: out of memory");
    return NULL;
  }
  c->minutes = bits[F_MINUTE];
  c->hours = (uint32_t)bits[F_HOUR];
  c->doms = (uint32_t)bits[F_DOM];
  c->months = (uint16_t)bits[F_MONTH];
  /* 7 is Sunday as 0 is */
  c->dows = (uint8_t)((bits[F_DOW] | (bits[F_DOW] >> 7)) & 0x7f);
  c->dom_star = len[F_DOM] == 1 && tok[F_DOM][0] == '*';
  c->dow_star = len[F_DOW] == 1 && tok[F_DOW][0] == '*';
  return c;
}

void emu_cron_free(emu_cron *c) { free(c); }

/* ---- time zones ---------------------------------------------------------- */

static bool is_utc_name(const char *tz) {
  return !tz || !*tz || strcasecmp(tz, "utc") == 0;
}

int emu_tz_valid(const char *tz) {
  if (is_utc_name(tz)) return 1;
  size_t n = strlen(tz);
  if (n > 200 || tz[0] == '/' || tz[n - 1] == '/' || strstr(tz, "..") ||
      strstr(tz, "//"))
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)tz[i];
    if (!isalnum(ch) && ch != '/' && ch != '_' && ch != '-' && ch != '+' &&
        ch != '.')
      return 0;
  }
  if (strncmp(tz, "posix/", 6) == 0 || strncmp(tz, "right/", 6) == 0 ||
      strcmp(tz, "localtime") == 0 || strcmp(tz, "posixrules") == 0)
    return 0;
  const char *dir = getenv("TZDIR");
  if (!dir || !*dir) dir = "/usr/share/zoneinfo";
  char path[512];
  int w = snprintf(path, sizeof path, "%s/%s", dir, tz);
  if (w < 0 || (size_t)w >= sizeof path) return 0;
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  /* A zone file, not zone.tab, tzdata.zi, leapseconds, ... */
  FILE *fp = fopen(path, "rb");
  if (!fp) return 0;
  char magic[4];
  size_t got = fread(magic, 1, sizeof magic, fp);
  fclose(fp);
  return got == 4 && memcmp(magic, "TZif", 4) == 0;
}

/* ---- civil time arithmetic (proleptic Gregorian, no zone) ---------------- */

/* Days since 1970-01-01 of y-m-d (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- zone offsets -------------------------------------------------------- */

/* Local wall-clock seconds (the local civil time read as if it were UTC) of
 * instant t; UTC when !zoned. Under zone_lock when zoned. */
static bool local_secs(bool zoned, int64_t t, int64_t *out) {
  if (!zoned) {
    *out = t;
    return true;
  }
  time_t tt = (time_t)t;
  struct tm tm;
  if (!localtime_r(&tt, &tm)) return false;
  *out =
      days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) *
          86400 +
      tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
  return true;
}

/* The first instant whose local wall clock reads L, or false when none (L is
 * in a gap). The offsets tried are those a day before and after L and at L:
 * every instant found is checked, so a wrong guess costs nothing but a
 * miss, and zones do not change offset twice within a day. */
static bool first_instant(bool zoned, int64_t L, int64_t *out) {
  if (!zoned) {
    *out = L;
    return true;
  }
  int64_t probes[4] = {L - 86400, L + 86400, L, 0};
  int64_t offs[4];
  int n = 0;
  for (int i = 0; i < 3; i++) {
    int64_t loc;
    if (!local_secs(true, probes[i], &loc)) continue;
    offs[n++] = loc - probes[i];
  }
  if (n > 0) {
    int64_t loc;
    int64_t t = L - offs[0];
    if (local_secs(true, t, &loc)) offs[n++] = loc - t;
  }
  bool found = false;
  for (int i = 0; i < n; i++) {
    int64_t t = L - offs[i], loc;
    if (local_secs(true, t, &loc) && loc == L && (!found || t < *out)) {
      *out = t;
      found = true;
    }
  }
  return found;
}

/* ---- the search ---------------------------------------------------------- */

/* 5 years of days, with 2 leap days. */
#define HORIZON_DAYS (5 * 365 + 2)

static bool day_matches(const emu_cron *c, int64_t dn, int dom) {
  int dow = (int)((dn % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
  bool dom_ok = (c->doms >> dom) & 1u;
  bool dow_ok = (c->dows >> dow) & 1u;
  if (c->dom_star && c->dow_star) return true;
  if (c->dom_star) return dow_ok;
  if (c->dow_star) return dom_ok;
  return dom_ok || dow_ok;
}

/* Steps local day by local day (a month at a time when the month does not
 * match), then through the hours and minutes the schedule names: a day that
 * does not match costs a little arithmetic, never a zone lookup. */
static int64_t next_in_zone(const emu_cron *c, bool zoned, int64_t after) {
  int64_t start = floor_div(after, 60) * 60 + 60;
  int64_t start_local;
  if (!local_secs(zoned, start, &start_local)) return -1;
  int64_t dn0 = floor_div(start_local, 86400);
  int first_min = (int)((start_local - dn0 * 86400) / 60);
  int64_t limit = after + (int64_t)HORIZON_DAYS * 86400;
  for (int64_t dn = dn0; dn <= dn0 + HORIZON_DAYS + 1;) {
    int64_t y;
    int m, d;
    civil_from_days(dn, &y, &m, &d);
    if (!((c->months >> m) & 1u)) {
      dn =
          m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
      continue;
    }
    if (day_matches(c, dn, d)) {
      int from = dn == dn0 ? first_min : 0;
      for (int h = from / 60; h < 24; h++) {
        if (!((c->hours >> h) & 1u)) continue;
        int mfrom = h == from / 60 ? from % 60 : 0;
        for (int mi = mfrom; mi < 60; mi++) {
          if (!((c->minutes >> mi) & 1u)) continue;
          int64_t t = 0;
          if (!first_instant(zoned, dn * 86400 + h * 3600 + mi * 60, &t))
            continue;               /* skipped by a clock change: not today */
          if (t <= after) continue; /* a repeated time's first pass is over */
          return t <= limit ? t : -1;
        }
      }
    }
    dn++;
  }
  return -1;
}

static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;

int64_t emu_cron_next(const emu_cron *c, const char *tz, int64_t after) {
  /* years 1900-9000: civil arithmetic and time_t stay far from overflow */
  if (!c || after < -2208988800LL || after > 221845392000LL) return -1;
  if (is_utc_name(tz)) return next_in_zone(c, false, after);
  if (!emu_tz_valid(tz)) return -1;
  char zone[256];
  snprintf(zone, sizeof zone, ":%s", tz);

  pthread_mutex_lock(&zone_lock);
  const char *old = getenv("TZ");
  char *saved = old ? strdup(old) : NULL;
  int64_t next = -1;
  if (!old || saved) {
    if (setenv("TZ", zone, 1) == 0) {
      tzset();
      next = next_in_zone(c, true, after);
    }
    if (saved) {
      setenv("TZ", saved, 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  free(saved);
  pthread_mutex_unlock(&zone_lock);
  return next;
}
