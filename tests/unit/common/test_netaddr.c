/* test_netaddr.c - common/netaddr.h: parse/format, prefixes, private ranges. */
#include "check.h"
#include "netaddr.h"

static netaddr_t A(const char *s)
{
    netaddr_t n;
    memset(&n, 0, sizeof n);
    if (!netaddr_parse(s, &n))
        fprintf(stderr, "test setup: cannot parse %s\n", s);
    return n;
}

static bool in(const char *prefix, const char *addr)
{
    netprefix_t p;
    if (!netprefix_parse(prefix, &p)) {
        fprintf(stderr, "test setup: cannot parse prefix %s\n", prefix);
        return false;
    }
    netaddr_t a = A(addr);
    return netprefix_contains(&p, &a);
}

static void test_parse_format(void)
{
    char buf[NETADDR_STRLEN];
    netaddr_t n;
    CHECK(netaddr_parse("192.0.2.1", &n));
    CHECK_EQ_INT(n.family, 4);
    CHECK_EQ_UINT(n.a[0], 192);
    CHECK_EQ_UINT(n.a[3], 1);
    for (int i = 4; i < 16; i++)
        CHECK_EQ_UINT(n.a[i], 0); /* rest zero so memcmp compares */
    CHECK_STR(netaddr_fmt(&n, buf, sizeof buf), "192.0.2.1");
    /* IPv4 is written by hand: every digit count, and a buffer one short */
    const char *quads[] = {"0.0.0.0", "255.255.255.255", "10.0.100.9", "1.20.199.250"};
    for (size_t i = 0; i < sizeof quads / sizeof quads[0]; i++) {
        CHECK(netaddr_parse(quads[i], &n));
        CHECK_STR(netaddr_fmt(&n, buf, sizeof buf), quads[i]);
    }
    char small[15];
    CHECK_STR(netaddr_fmt(&n, small, sizeof small), "1.20.199.250");
    CHECK(netaddr_parse("255.255.255.255", &n));
    CHECK_STR(netaddr_fmt(&n, small, sizeof small), ""); /* does not fit */
    CHECK(netaddr_parse("192.0.2.1", &n));

    CHECK(netaddr_parse("2001:db8::1", &n));
    CHECK_EQ_INT(n.family, 6);
    CHECK_EQ_UINT(n.a[0], 0x20);
    CHECK_EQ_UINT(n.a[15], 1);
    CHECK_STR(netaddr_fmt(&n, buf, sizeof buf), "2001:db8::1");

    CHECK(netaddr_parse("::ffff:10.0.0.1", &n));
    CHECK_EQ_INT(n.family, 6);
    CHECK_STR(netaddr_fmt(&n, buf, sizeof buf), "::ffff:10.0.0.1");

    CHECK(netaddr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &n));
    CHECK_STR(netaddr_fmt(&n, buf, sizeof buf), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

    CHECK(!netaddr_parse("256.0.0.1", &n));
    CHECK(!netaddr_parse("1.2.3", &n));
    CHECK(!netaddr_parse("", &n));
    CHECK(!netaddr_parse("2001:db8::1::2", &n));
    CHECK(!netaddr_parse("10.0.0.1/8", &n));

    netaddr_t unset;
    memset(&unset, 0, sizeof unset);
    CHECK_STR(netaddr_fmt(&unset, buf, sizeof buf), "");
}

static void test_cmp(void)
{
    netaddr_t a = A("10.0.0.1"), b = A("10.0.0.2"), c = A("::1");
    CHECK(netaddr_cmp(&a, &b) < 0);
    CHECK(netaddr_cmp(&b, &a) > 0);
    CHECK(netaddr_cmp(&a, &a) == 0);
    CHECK(netaddr_cmp(&a, &c) < 0); /* v4 sorts before v6 */
}

static void test_prefix_parse(void)
{
    netprefix_t p;
    CHECK(netprefix_parse("10.0.0.0/8", &p));
    CHECK_EQ_INT(p.len, 8);
    CHECK(netprefix_parse("10.0.0.1", &p)); /* host prefix */
    CHECK_EQ_INT(p.len, 32);
    CHECK(netprefix_parse("2603:1063::/38", &p));
    CHECK_EQ_INT(p.len, 38);
    CHECK(netprefix_parse("::/0", &p));
    CHECK_EQ_INT(p.len, 0);
    CHECK(netprefix_parse("::1", &p));
    CHECK_EQ_INT(p.len, 128);
    CHECK(!netprefix_parse("10.0.0.0/33", &p));
    CHECK(!netprefix_parse("::/129", &p));
    CHECK(!netprefix_parse("10.0.0.0/", &p));
    CHECK(!netprefix_parse("10.0.0.0/8x", &p));
    CHECK(!netprefix_parse("", &p));
    CHECK(!netprefix_parse("bogus/8", &p));
    /* A negative length is not a prefix (it must not become a host /32). */
    CHECK(!netprefix_parse("10.0.0.0/-1", &p));
    CHECK(!netprefix_parse("2001:db8::/-8", &p));
}

static void test_prefix_contains(void)
{
    /* /0 contains everything of its family, nothing of the other */
    CHECK(in("0.0.0.0/0", "8.8.8.8"));
    CHECK(in("0.0.0.0/0", "255.255.255.255"));
    CHECK(!in("0.0.0.0/0", "::1"));
    CHECK(in("::/0", "2001:db8::1"));
    CHECK(!in("::/0", "10.0.0.1"));

    /* /14 v4: 52.112.0.0 - 52.115.255.255 */
    CHECK(in("52.112.0.0/14", "52.112.0.0"));
    CHECK(in("52.112.0.0/14", "52.113.1.1"));
    CHECK(in("52.112.0.0/14", "52.115.255.255"));
    CHECK(!in("52.112.0.0/14", "52.111.255.255"));
    CHECK(!in("52.112.0.0/14", "52.116.0.0"));

    /* /38 v6: 2603:1063:0000::/38 covers third group 0x0000-0x03ff */
    CHECK(in("2603:1063::/38", "2603:1063::1"));
    CHECK(in("2603:1063::/38", "2603:1063:1::20"));
    CHECK(in("2603:1063::/38", "2603:1063:3ff:ffff::1"));
    CHECK(!in("2603:1063::/38", "2603:1063:400::1"));
    CHECK(!in("2603:1063::/38", "2603:1062:ffff::1"));

    /* full-length prefixes */
    CHECK(in("10.1.2.3/32", "10.1.2.3"));
    CHECK(!in("10.1.2.3/32", "10.1.2.4"));
    CHECK(in("2001:db8::5/128", "2001:db8::5"));
    CHECK(!in("2001:db8::5/128", "2001:db8::4"));
    /* a prefix written with host bits set still matches on its length */
    CHECK(in("10.1.2.3/8", "10.200.0.1"));
}

static void test_private(void)
{
    static const char *const yes[] = {"10.0.0.1",        "10.255.255.255",
                                      "172.16.0.1",      "172.31.255.255",
                                      "192.168.1.1",     "100.64.0.1",
                                      "100.127.255.255", "169.254.1.1",
                                      "127.0.0.1",       "fc00::1",
                                      "fdff::1",         "fe80::1",
                                      "febf::1",         "::1"};
    static const char *const no[] = {"9.255.255.255", "11.0.0.0",    "172.15.255.255",
                                     "172.32.0.0",    "192.169.0.1", "100.63.255.255",
                                     "100.128.0.0",   "8.8.8.8",     "52.113.1.1",
                                     "fe00::1",       "fec0::1",     "2001:db8::1",
                                     "::2",           "::"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        netaddr_t a = A(yes[i]);
        if (!netaddr_is_private(&a))
            fprintf(stderr, "  expected private: %s\n", yes[i]);
        CHECK(netaddr_is_private(&a));
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        netaddr_t a = A(no[i]);
        if (netaddr_is_private(&a))
            fprintf(stderr, "  expected public: %s\n", no[i]);
        CHECK(!netaddr_is_private(&a));
    }
}

int main(void)
{
    RUN(test_parse_format);
    RUN(test_cmp);
    RUN(test_prefix_parse);
    RUN(test_prefix_contains);
    RUN(test_private);
    return check_finish("unit_netaddr");
}
