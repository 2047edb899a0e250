/* Unit tests for src/privacy/policy.c: placeholders filled and escaped, JSON summary. */
#include "harness.h"

#include "privacy/policy.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char *render(const struct privacy_policy_config *c, bool html)
{
    struct buf h, j;
    struct errbuf eb = {""};
    buf_init(&h, 1 << 20);
    buf_init(&j, 1 << 20);
    ASSERT_EQ_INT(privacy_policy_render(c, &h, &j, &eb), 0);
    struct buf *b = html ? &h : &j;
    char *s = malloc(b->len + 1);
    memcpy(s, buf_head(b), b->len);
    s[b->len] = '\0';
    buf_free(&h);
    buf_free(&j);
    return s;
}

TEST(html_fills_and_escapes)
{
    struct privacy_policy_config c = {"Evil <script>alert(1)</script> & Co",
                                      "privacy@example.org",
                                      3,
                                      0,
                                      PRIVACY_IP_TRUNCATED,
                                      false};
    char *h = render(&c, true);
    ASSERT_TRUE(strstr(h, "<script>") == NULL);
    ASSERT_TRUE(strstr(h, "Evil &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co") != NULL);
    ASSERT_TRUE(strstr(h, "privacy@example.org") != NULL);
    ASSERT_TRUE(strstr(h, "3 days after the test") != NULL);
    ASSERT_TRUE(strstr(h, "truncated before it is stored") != NULL);
    ASSERT_TRUE(strstr(h, "kept indefinitely") != NULL);
    ASSERT_TRUE(strstr(h, "{{") == NULL);
    ASSERT_TRUE(strstr(h, "<h1>") != NULL && strstr(h, "<ul>") != NULL);
    ASSERT_TRUE(strstr(h, "<li>") != NULL && strstr(h, "</ul>") != NULL);
    ASSERT_TRUE(strstr(h, "<a href=\"/privacy.json\">/privacy.json</a>") != NULL);
    free(h);
}

TEST(json_summary)
{
    struct privacy_policy_config c = {"Op", "mailto:x@example.org", 1, 30, PRIVACY_IP_FULL, true};
    char *s = render(&c, false);
    json_error_t err;
    json_t *j = json_loads(s, 0, &err);
    ASSERT_TRUE(j != NULL);
    ASSERT_EQ_STR(json_string_value(json_object_get(j, "operator")), "Op");
    json_t *pub = json_object_get(j, "publication");
    ASSERT_EQ_STR(json_string_value(json_object_get(pub, "license")), "CC0-1.0");
    ASSERT_EQ_INT(json_integer_value(json_object_get(pub, "delay_days")), 1);
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "retention"), "days")), 30);
    json_t *col = json_object_get(j, "collected");
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(col, 0), "precision")), "full");
    json_t *keys = json_object_get(json_array_get(col, 2), "allowed_keys");
    ASSERT_EQ_INT(json_array_size(keys), 10);
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(col, 2), "other_keys")),
                  "refused");
    json_decref(j);
    free(s);
}
