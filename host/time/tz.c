/*
 * tz.c - IANA zones from TZif files, without TZ, tzset() or localtime().
 *
 * A zone is reduced at load time to one sorted array of transitions (UTC
 * instant, offset after it).  The explicit transitions of the file are
 * extended with those generated from its POSIX TZ footer up to year
 * EXTEND_TO, so every lookup is one binary search with no rule evaluation
 * on the hot path (the cron engine does several lookups per next()).
 * Zones are immutable once built and cached for the life of the process.
 */
#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXTEND_TO 2200
#define MAX_TZIF (1 << 20)

struct jh__tz {
    struct jh__tz *next;     /* cache chain */
    char *name;
    int64_t *at;            /* transition instants, ascending */
    int32_t *off;           /* offset (s east of UTC) from at[i] on */
    size_t n;
    int32_t off0;           /* offset before the first transition */
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct jh__tz *cache;
static struct jh__tz utc_zone = {NULL, "UTC", NULL, NULL, 0, 0};

const char *jh__tz_name(const jh__tz *tz)
{
    return tz ? tz->name : "UTC";
}

/* Index of the last transition <= t, or -1. */
static long find(const jh__tz *tz, int64_t t)
{
    size_t lo = 0, hi = tz->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tz->at[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

int jh__tz_offset(const jh__tz *tz, int64_t utc_sec)
{
    long i;

    if (tz == NULL || tz->n == 0)
        return tz ? tz->off0 : 0;
    i = find(tz, utc_sec);
    return i < 0 ? tz->off0 : tz->off[i];
}

void jh__tz_to_local(const jh__tz *tz, int64_t utc_sec, jh__civil *out, int *gmtoff)
{
    int off = jh__tz_offset(tz, utc_sec);

    jh__secs_to_civil(utc_sec + off, out);
    if (gmtoff)
        *gmtoff = off;
}

int64_t jh__tz_next_transition(const jh__tz *tz, int64_t utc_sec, int *before, int *after)
{
    long i;

    if (tz == NULL || tz->n == 0)
        return INT64_MAX;
    i = find(tz, utc_sec) + 1;
    if ((size_t)i >= tz->n)
        return INT64_MAX;
    if (before)
        *before = i == 0 ? tz->off0 : tz->off[i - 1];
    if (after)
        *after = tz->off[i];
    return tz->at[i];
}

void jh__tz_segment(const jh__tz *tz, int64_t utc_sec, int64_t *start, int64_t *end, int *off,
                   int *off_prev, int *off_next)
{
    long i = (tz == NULL || tz->n == 0) ? -1 : find(tz, utc_sec);
    size_t n = tz ? tz->n : 0;
    int32_t o0 = tz ? tz->off0 : 0;

    *off = i < 0 ? o0 : tz->off[i];
    *start = i < 0 ? INT64_MIN : tz->at[i];
    *off_prev = i < 1 ? o0 : tz->off[i - 1];
    if ((size_t)(i + 1) < n) {
        *end = tz->at[i + 1];
        *off_next = tz->off[i + 1];
    } else {
        *end = INT64_MAX;
        *off_next = *off;
    }
}

/* The offsets in force from transition i (the last one at or before
 * local_sec - 2 days) to local_sec + 2 days, at most 8 (cand[0] first). */
static int nearby_offsets(const jh__tz *tz, long i, int64_t local_sec, int32_t cand[8])
{
    int nc = 0;

    cand[nc++] = i < 0 ? tz->off0 : tz->off[i];
    for (long j = i + 1; (size_t)j < tz->n && tz->at[j] <= local_sec + 2 * 86400 && nc < 8; j++)
        cand[nc++] = tz->off[j];
    return nc;
}

/* The instants (at most 2, ascending) at which a candidate offset o is
 * real: the offset at local_sec - o is o. */
static int matching_instants(const jh__tz *tz, int64_t local_sec, const int32_t *cand, int nc,
                             int64_t out[2])
{
    int found = 0;

    for (int k = 0; k < nc; k++) {
        int dup = 0;
        for (int m = 0; m < k; m++)
            dup |= cand[m] == cand[k];
        if (dup)
            continue;
        int64_t u = local_sec - cand[k];
        if (jh__tz_offset(tz, u) == cand[k] && found < 2) {
            if (found == 1 && out[0] == u)
                continue;
            out[found++] = u;
        }
    }
    if (found == 2 && out[0] > out[1]) {
        int64_t t = out[0];
        out[0] = out[1];
        out[1] = t;
    }
    return found;
}

/* True if local_sec lies in a gap, the jump of a transition after i;
 * *end is that transition. */
static int in_gap(const jh__tz *tz, long i, int64_t local_sec, int64_t *end)
{
    for (long j = i + 1; (size_t)j < tz->n; j++) {
        int32_t ob = j == 0 ? tz->off0 : tz->off[j - 1];
        if (tz->at[j] + ob <= local_sec && local_sec < tz->at[j] + tz->off[j]) {
            *end = tz->at[j];
            return 1;
        }
        if (tz->at[j] > local_sec + 2 * 86400)
            break;
    }
    return 0;
}

/*
 * Every offset in force at some instant in [local - 1 day, local + 1 day]
 * is a candidate (offsets are within +-26 h, so the true instant is in that
 * window); a candidate o is real if the offset at local - o is o.
 */
int jh__tz_from_local(const jh__tz *tz, int64_t local_sec, int64_t out[2])
{
    int32_t cand[8];
    int nc, found;
    long i;

    if (tz == NULL || tz->n == 0) {
        out[0] = local_sec - (tz ? tz->off0 : 0);
        return 1;
    }
    i = find(tz, local_sec - 2 * 86400);
    nc = nearby_offsets(tz, i, local_sec, cand);
    if ((found = matching_instants(tz, local_sec, cand, nc, out)) > 0)
        return found;
    if (in_gap(tz, i, local_sec, &out[0]))
        return 0;
    out[0] = local_sec - cand[0]; /* unreachable for consistent data */
    return 1;
}

/* ---- POSIX TZ strings (the TZif footer) ------------------------------- */

typedef struct rule {
    int kind;          /* 'J' (1-365, no Feb 29), 'D' (0-365), 'M' */
    int day, week, mon;
    int32_t time;      /* seconds after local midnight, may be <0 or >24h */
} rule;

typedef struct posix_tz {
    int32_t std_off, dst_off; /* east of UTC */
    int has_dst;
    rule start, end;
} posix_tz;

static const char *parse_name(const char *p)
{
    if (*p == '<') {
        while (*p && *p != '>')
            p++;
        return *p == '>' ? p + 1 : NULL;
    }
    const char *s = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* Two digits at p into *v; the position after them, or NULL. */
static const char *two_digits(const char *p, int *v)
{
    if (!(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9'))
        return NULL;
    *v = (p[0] - '0') * 10 + p[1] - '0';
    return p + 2;
}

/* [+-]hh[:mm[:ss]] -> seconds; hh up to 167 */
static const char *parse_hms(const char *p, int32_t *out)
{
    int sign = 1, h = 0, m = 0, s = 0, n = 0;

    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    while (*p >= '0' && *p <= '9' && n < 3)
        h = h * 10 + (*p++ - '0'), n++;
    if (n == 0 || h > 167)
        return NULL;
    if (*p == ':') {
        if ((p = two_digits(p + 1, &m)) == NULL)
            return NULL;
        if (*p == ':' && (p = two_digits(p + 1, &s)) == NULL)
            return NULL;
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_num(const char *p, int *out)
{
    int n = 0, v = 0;
    while (*p >= '0' && *p <= '9' && n < 4)
        v = v * 10 + (*p++ - '0'), n++;
    if (n == 0)
        return NULL;
    *out = v;
    return p;
}

static const char *parse_rule(const char *p, rule *r)
{
    if (*p == 'M') {
        r->kind = 'M';
        if (!(p = parse_num(p + 1, &r->mon)) || *p++ != '.' || !(p = parse_num(p, &r->week)) ||
            *p++ != '.' || !(p = parse_num(p, &r->day)))
            return NULL;
        if (r->mon < 1 || r->mon > 12 || r->week < 1 || r->week > 5 || r->day > 6)
            return NULL;
    } else if (*p == 'J') {
        r->kind = 'J';
        if (!(p = parse_num(p + 1, &r->day)) || r->day < 1 || r->day > 365)
            return NULL;
    } else {
        r->kind = 'D';
        if (!(p = parse_num(p, &r->day)) || r->day > 365)
            return NULL;
    }
    r->time = 7200;
    if (*p == '/' && !(p = parse_hms(p + 1, &r->time)))
        return NULL;
    return p;
}

static int parse_posix(const char *s, posix_tz *tz)
{
    const char *p = s;
    int32_t off;

    memset(tz, 0, sizeof(*tz));
    if (!(p = parse_name(p)) || !(p = parse_hms(p, &off)))
        return -EINVAL;
    tz->std_off = -off; /* POSIX offsets are west of Greenwich */
    if (*p == '\0')
        return 0;
    if (!(p = parse_name(p)))
        return -EINVAL;
    tz->has_dst = 1;
    tz->dst_off = tz->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if (!(p = parse_hms(p, &off)))
            return -EINVAL;
        tz->dst_off = -off;
    }
    if (*p == '\0') { /* no rule: the US rules are the POSIX default */
        tz->start = (rule){'M', 0, 2, 3, 7200};
        tz->end = (rule){'M', 0, 1, 11, 7200};
        return 0;
    }
    if (*p++ != ',' || !(p = parse_rule(p, &tz->start)) || *p++ != ',' ||
        !(p = parse_rule(p, &tz->end)) || *p != '\0')
        return -EINVAL;
    return 0;
}

/* Local-midnight day number (days since epoch) of a rule in a year. */
static int64_t rule_day(const rule *r, int year)
{
    if (r->kind == 'J') {
        int d = r->day - 1; /* Feb 29 is never counted */
        if (jh__is_leap(year) && d >= 59)
            d++;
        return jh__days_from_civil(year, 1, 1) + d;
    }
    if (r->kind == 'D')
        return jh__days_from_civil(year, 1, 1) + r->day;
    int64_t first = jh__days_from_civil(year, r->mon, 1);
    int wd = jh__weekday(first);
    int64_t d = first + (r->day - wd + 7) % 7 + 7 * (r->week - 1);
    int dim = jh__days_in_month(year, r->mon);
    while (d >= first + dim)
        d -= 7;
    return d;
}

/* ---- building zones -------------------------------------------------- */

typedef struct builder {
    int64_t *at;
    int32_t *off;
    size_t n, cap;
} builder;

static int add(builder *b, int64_t at, int32_t off)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        int64_t *a = realloc(b->at, nc * sizeof(*a));
        if (a == NULL)
            return -ENOMEM;
        b->at = a;
        int32_t *o = realloc(b->off, nc * sizeof(*o));
        if (o == NULL)
            return -ENOMEM;
        b->off = o;
        b->cap = nc;
    }
    /* Drop no-op transitions (offset unchanged); they only cost lookups. */
    int32_t prev = b->n ? b->off[b->n - 1] : INT32_MIN;
    if (prev == off)
        return 0;
    b->at[b->n] = at;
    b->off[b->n] = off;
    b->n++;
    return 0;
}

static int extend_posix(builder *b, const posix_tz *p, int64_t after, int32_t off0)
{
    int y0 = 1970;
    jh__civil c;

    if (!p->has_dst) {
        if ((b->n ? b->off[b->n - 1] : off0) != p->std_off)
            return add(b, after + 1, p->std_off);
        return 0;
    }
    if (after > INT64_MIN / 2) {
        jh__secs_to_civil(after, &c);
        y0 = c.year;
    }
    for (int y = y0; y <= EXTEND_TO; y++) {
        /* start: local standard time; end: local daylight time */
        int64_t s = rule_day(&p->start, y) * 86400 + p->start.time - p->std_off;
        int64_t e = rule_day(&p->end, y) * 86400 + p->end.time - p->dst_off;
        int64_t t1 = s < e ? s : e, t2 = s < e ? e : s;
        int32_t o1 = s < e ? p->dst_off : p->std_off, o2 = s < e ? p->std_off : p->dst_off;
        if (t1 > after && add(b, t1, o1) < 0)
            return -ENOMEM;
        if (t2 > after && add(b, t2, o2) < 0)
            return -ENOMEM;
    }
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The counts of a TZif header, in file order. */
enum { ISUTCNT, ISSTDCNT, LEAPCNT, TIMECNT, TYPECNT, CHARCNT, NCOUNTS };

typedef struct tzif {
    const unsigned char *d;
    size_t len;
    size_t pos;              /* the next byte to read */
    size_t cnt[NCOUNTS];     /* of the header in use */
    int tsize;               /* bytes a transition time: 4 (v1) or 8 (v2+) */
} tzif;

static void read_counts(const unsigned char *h, size_t cnt[NCOUNTS])
{
    for (int i = 0; i < NCOUNTS; i++)
        cnt[i] = be32(h + 20 + 4 * i);
}

/* The header to use: v1's, or in a v2+ file the second one, after the v1
 * data, whose times are 64-bit. */
static int read_header(tzif *f, const char **why)
{
    const size_t *c = f->cnt;
    size_t v1len;

    if (f->len < 44 || memcmp(f->d, "TZif", 4) != 0)
        return *why = "not a TZif file (bad magic)", -EINVAL;
    read_counts(f->d, f->cnt);
    v1len = c[TIMECNT] * 5 + c[TYPECNT] * 6 + c[CHARCNT] + c[LEAPCNT] * 8 + c[ISSTDCNT] +
            c[ISUTCNT];
    if (c[TYPECNT] == 0 || c[TIMECNT] > 100000 || c[TYPECNT] > 256 || v1len > f->len - 44)
        return *why = "corrupt TZif header (counts out of range)", -EINVAL;
    f->pos = 44;
    if (f->d[4] < '2')
        return 0;
    f->pos += v1len;
    if (f->len - f->pos < 44 || memcmp(f->d + f->pos, "TZif", 4) != 0)
        return *why = "corrupt TZif file (no v2 header)", -EINVAL;
    read_counts(f->d + f->pos, f->cnt);
    f->pos += 44;
    f->tsize = 8;
    if (c[TYPECNT] == 0 || c[TIMECNT] > 100000 || c[TYPECNT] > 256)
        return *why = "corrupt TZif v2 header (counts out of range)", -EINVAL;
    return 0;
}

/* The data block: its transitions into *b, and the offset before them. */
static int read_transitions(tzif *f, builder *b, int32_t *off0, const char **why)
{
    const size_t *c = f->cnt, ts = (size_t)f->tsize;
    size_t need = c[TIMECNT] * ts + c[TIMECNT] + c[TYPECNT] * 6 + c[CHARCNT] +
                  c[LEAPCNT] * (ts + 4) + c[ISSTDCNT] + c[ISUTCNT];

    if (need > f->len - f->pos)
        return *why = "truncated TZif file", -EINVAL;
    const unsigned char *times = f->d + f->pos, *idx = times + c[TIMECNT] * ts,
                        *types = idx + c[TIMECNT];
    *off0 = (int32_t)be32(types); /* type 0 applies before the first transition */
    for (size_t i = 0; i < c[TIMECNT]; i++) {
        int64_t t = ts == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        if (idx[i] >= c[TYPECNT])
            return *why = "corrupt TZif data (type index out of range)", -EINVAL;
        int32_t o = (int32_t)be32(types + 6 * idx[i]);
        if (b->n > 0 && t <= b->at[b->n - 1] && b->off[b->n - 1] != o)
            return *why = "corrupt TZif data (transitions not ascending)", -EINVAL;
        if (o < -26 * 3600 || o > 26 * 3600)
            return *why = "corrupt TZif data (offset out of range)", -EINVAL;
        if (b->n == 0 && o == *off0)
            continue;
        if (add(b, t, o) < 0)
            return *why = "out of memory", -ENOMEM;
    }
    f->pos += need;
    return 0;
}

/* A v2+ file's footer, "\nPOSIX-TZ\n": the rule *b is extended with. */
static int read_footer(const tzif *f, builder *b, int32_t off0, const char **why)
{
    const unsigned char *d = f->d, *nl;
    size_t pos = f->pos, fl;
    char footer[256];
    posix_tz p;

    if (f->tsize != 8 || pos >= f->len || d[pos] != '\n')
        return 0;
    nl = memchr(d + pos + 1, '\n', f->len - pos - 1);
    fl = nl ? (size_t)(nl - d - pos - 1) : 0;
    if (nl == NULL || fl >= sizeof(footer))
        return *why = "corrupt TZif footer", -EINVAL;
    if (fl == 0)
        return 0;
    memcpy(footer, d + pos + 1, fl);
    footer[fl] = '\0';
    if (parse_posix(footer, &p) < 0)
        return *why = "unsupported TZ rule in the TZif footer", -EINVAL;
    if (extend_posix(b, &p, b->n ? b->at[b->n - 1] : INT64_MIN / 2, off0) < 0)
        return *why = "out of memory", -ENOMEM;
    return 0;
}

/* Parse a TZif image into *b; returns 0 or a static reason in *why. */
static int parse_tzif(const unsigned char *d, size_t len, builder *b, int32_t *off0,
                      const char **why)
{
    tzif f = {d, len, 0, {0}, 4};
    int rc;

    if ((rc = read_header(&f, why)) < 0 || (rc = read_transitions(&f, b, off0, why)) < 0)
        return rc;
    return read_footer(&f, b, *off0, why);
}

static jh__tz *zone_new(const char *name, builder *b, int32_t off0)
{
    jh__tz *z = calloc(1, sizeof(*z));

    if (z == NULL || (z->name = strdup(name)) == NULL) {
        free(z);
        return NULL;
    }
    z->at = b->at;
    z->off = b->off;
    z->n = b->n;
    z->off0 = off0;
    return z;
}

static int read_all(const char *path, unsigned char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    unsigned char *buf;
    size_t got = 0;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_TZIF) {
        close(fd);
        return -EINVAL;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *out = buf;
    *len = got;
    return 0;
}

static int load_file(const char *path, const char *name, jh__tz **out, jh_err *e)
{
    unsigned char *d = NULL;
    size_t len = 0;
    builder b = {0};
    int32_t off0 = 0;
    const char *why = NULL;
    int rc = read_all(path, &d, &len);

    if (rc == -ENOENT || rc == -ENOTDIR)
        return jh__err_set(e, -ENOENT, "timezone \"%s\": not found (no file %s)", name, path);
    if (rc < 0)
        return jh__err_set(e, rc, "timezone \"%s\": cannot read %s: %s", name, path,
                          rc == -EINVAL ? "not a regular file of sane size" : strerror(-rc));
    rc = parse_tzif(d, len, &b, &off0, &why);
    free(d);
    if (rc == 0 && (*out = zone_new(name, &b, off0)) == NULL)
        rc = -ENOMEM, why = "out of memory";
    if (rc < 0) {
        free(b.at);
        free(b.off);
        return jh__err_set(e, rc, "timezone \"%s\": %s: %s", name, path, why);
    }
    return 0;
}

static int valid_zone_name(const char *n)
{
    if (n[0] == '\0' || n[0] == '/' || n[0] == '.' || strlen(n) > 255)
        return 0;
    for (const char *p = n; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '_' || *p == '-' || *p == '+' || *p == '.'))
            return 0;
        if (p[0] == '.' && p[1] == '.')
            return 0;
    }
    return 1;
}

static const char *tzdir(void)
{
    const char *d = getenv("TZDIR");
    return d && *d ? d : "/usr/share/zoneinfo";
}

/* The host zone's name and file. */
static int host_zone(char *name, size_t nlen, char *path, size_t plen)
{
    const char *tz = getenv("TZ");
    char link[PATH_MAX];
    ssize_t n;

    if (tz != NULL && *tz != '\0') {
        if (*tz == ':')
            tz++;
        snprintf(name, nlen, "%s", tz);
        path[0] = '\0';
        return 0;
    }
    n = readlink("/etc/localtime", link, sizeof(link) - 1);
    if (n > 0) {
        link[n] = '\0';
        const char *z = strstr(link, "zoneinfo/");
        snprintf(name, nlen, "%s", z ? z + 9 : "localtime");
    } else
        snprintf(name, nlen, "localtime");
    snprintf(path, plen, "/etc/localtime");
    return access("/etc/localtime", R_OK) == 0 ? 0 : -ENOENT;
}

static int is_utc(const char *name)
{
    return strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0 || strcmp(name, "Z") == 0;
}

/* A cached zone; called with cache_mu held. */
static jh__tz *cache_find(const char *name)
{
    jh__tz *z;

    for (z = cache; z != NULL; z = z->next)
        if (strcmp(z->name, name) == 0)
            break;
    return z;
}

/* A zone from a POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0". */
static int posix_zone(const char *name, jh__tz **out)
{
    posix_tz p;
    builder b = {0};

    if (parse_posix(name, &p) < 0)
        return -EINVAL;
    if (extend_posix(&b, &p, INT64_MIN / 2, p.std_off) < 0 ||
        (*out = zone_new(name, &b, p.std_off)) == NULL) {
        free(b.at);
        free(b.off);
        return -ENOMEM;
    }
    return 0;
}

/* Load zone `name`: the host's file `hpath` if given, else the tzdata
 * file of that name, else the name read as a POSIX TZ string. */
static int load_zone(const char *name, const char *hpath, jh__tz **out, jh_err *e)
{
    char path[PATH_MAX];
    int rc;

    if (hpath[0] != '\0')
        rc = load_file(hpath, name, out, e);
    else if (!valid_zone_name(name))
        rc = jh__err_set(e, -EINVAL,
                        "timezone \"%s\": not a zone name (expected e.g. Europe/London)", name);
    else {
        snprintf(path, sizeof(path), "%s/%s", tzdir(), name);
        rc = load_file(path, name, out, e);
    }
    if (rc == -ENOENT || (rc == -EINVAL && strchr(name, '/') == NULL && name[0] != '.')) {
        /* Not a file: maybe a POSIX TZ string. */
        if (posix_zone(name, out) == 0)
            rc = 0;
        else if (rc == -ENOENT)
            jh__err_set(e, -ENOENT, "timezone \"%s\": not found in %s", name, tzdir());
    }
    return rc;
}

int jh__tz_get(const char *name, const jh__tz **out, jh_err *e)
{
    char hname[256], hpath[PATH_MAX];
    jh__tz *z;
    int rc = 0;

    if (out == NULL)
        return -EINVAL;
    hpath[0] = '\0';
    if (name == NULL || *name == '\0') {
        if (host_zone(hname, sizeof(hname), hpath, sizeof(hpath)) < 0) {
            *out = &utc_zone;
            return 0;
        }
        name = hname;
    }
    if (is_utc(name)) {
        *out = &utc_zone;
        return 0;
    }
    pthread_mutex_lock(&cache_mu);
    if ((z = cache_find(name)) == NULL && (rc = load_zone(name, hpath, &z, e)) == 0) {
        z->next = cache;
        cache = z;
    }
    pthread_mutex_unlock(&cache_mu);
    if (rc == 0)
        *out = z;
    return rc;
}

void jh__tz_cache_free(void)
{
    pthread_mutex_lock(&cache_mu);
    for (jh__tz *z = cache, *n; z != NULL; z = n) {
        n = z->next;
        free(z->at);
        free(z->off);
        free(z->name);
        free(z);
    }
    cache = NULL;
    pthread_mutex_unlock(&cache_mu);
}
