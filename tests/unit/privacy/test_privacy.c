/* Unit tests for src/privacy: the metadata allowlist and IP truncation. */
#include "harness.h"

#include "core/err.h"
#include "privacy/privacy.h"

static enum privacy_verdict check(const char *k, const char *v, bool seen)
{
    return privacy_check_param(slice_cstr(k), slice_cstr(v), seen);
}

TEST(allowlist)
{
    ASSERT_EQ_INT(check("client_name", "fathom-cli", false), PRIVACY_KEEP);
    ASSERT_EQ_INT(check("client_arch", "amd64", false), PRIVACY_KEEP);
    ASSERT_EQ_INT(check("early_exit", "250", false), PRIVACY_KEEP);
    ASSERT_EQ_INT(check("metro_rank", "0", false), PRIVACY_KEEP);
    ASSERT_EQ_INT(check("access_token", "eyJ", false), PRIVACY_PROTOCOL);
    ASSERT_EQ_INT(check("mac_address", "00:11:22:33:44:55", false), PRIVACY_DROP_KEY);
    ASSERT_EQ_INT(check("imei", "490154203237518", false), PRIVACY_DROP_KEY);
    ASSERT_EQ_INT(check("server_x", "1", false), PRIVACY_DROP_KEY);
    ASSERT_EQ_INT(check("CLIENT_NAME", "x", false), PRIVACY_DROP_KEY);
    ASSERT_EQ_INT(check("client_name", "x", true), PRIVACY_DROP_DUPLICATE);
    ASSERT_EQ_INT(check("client_name",
                        "01234567890123456789012345678901234567890123456789012345678901234", false),
                  PRIVACY_DROP_VALUE);
    ASSERT_EQ_INT(check("client_name", "tab\there", false), PRIVACY_DROP_VALUE);
    ASSERT_EQ_INT(check("client_os", "caf\xc3\xa9", false), PRIVACY_DROP_VALUE);
}

TEST(ip_truncation)
{
    char ip[64] = "192.0.2.77";
    ASSERT_EQ_INT(privacy_truncate_ip(ip, sizeof(ip), PRIVACY_IP_TRUNCATED), 0);
    ASSERT_EQ_STR(ip, "192.0.2.0");
    snprintf(ip, sizeof(ip), "2001:db8:1234:5678::1");
    ASSERT_EQ_INT(privacy_truncate_ip(ip, sizeof(ip), PRIVACY_IP_TRUNCATED), 0);
    ASSERT_EQ_STR(ip, "2001:db8:1234::");
    snprintf(ip, sizeof(ip), "2001:db8::1");
    ASSERT_EQ_INT(privacy_truncate_ip(ip, sizeof(ip), PRIVACY_IP_FULL), 0);
    ASSERT_EQ_STR(ip, "2001:db8::1");
    snprintf(ip, sizeof(ip), "not-an-ip");
    ASSERT_EQ_INT(privacy_truncate_ip(ip, sizeof(ip), PRIVACY_IP_TRUNCATED), ERR_PROTO);
}
