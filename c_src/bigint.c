/* Conversions between text and integers of any size. Magnitudes are arrays
 * of little-endian bytes, the form of SMALL_BIG_EXT and LARGE_BIG_EXT. The
 * algorithms are the schoolbook ones, quadratic in the number of digits:
 * fine for the sizes terms carry, and no GMP dependency. */
#include <string.h>

#include "internal.h"

/* mag = mag * mul + add, growing by a byte when it carries over. */
static int mag_muladd(otpc_buf_t *mag, unsigned mul, unsigned add) {
  unsigned carry = add;
  for (size_t i = 0; i < mag->len; i++) {
    unsigned v = mag->data[i] * mul + carry;
    mag->data[i] = (uint8_t)v;
    carry = v >> 8;
  }
  while (carry != 0) {
    uint8_t byte = (uint8_t)carry;
    int rc = otpc_buf_append(mag, &byte, 1);
    if (rc < 0)
      return rc;
    carry >>= 8;
  }
  return 0;
}

static int digit_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z')
    return c - 'A' + 10;
  return 99;
}

int otpc__big_from_base(const char *s, size_t n, unsigned base,
                        otpc_buf_t *mag) {
  if (base < 2 || base > 36 || n == 0)
    return OTPC_EINVAL;
  mag->len = 0;
  for (size_t i = 0; i < n; i++) {
    int d = digit_value(s[i]);
    if (d >= (int)base)
      return OTPC_EINVAL;
    int rc = mag_muladd(mag, base, (unsigned)d);
    if (rc < 0)
      return rc;
  }
  return 0;
}

int otpc__big_from_dec(const char *s, size_t n, int *neg, otpc_buf_t *mag) {
  *neg = 0;
  if (n > 0 && (s[0] == '-' || s[0] == '+')) {
    *neg = s[0] == '-';
    s++;
    n--;
  }
  int rc = otpc__big_from_base(s, n, 10, mag);
  if (rc == 0 && mag->len == 0)
    *neg = 0; /* -0 is 0 */
  return rc;
}

int otpc__big_to_dec(int neg, const uint8_t *mag, size_t n, otpc_buf_t *out) {
  while (n > 0 && mag[n - 1] == 0)
    n--;
  if (n == 0)
    return otpc_buf_append(out, "0", 1);
  /* Divide a copy by 10^9 repeatedly, collecting base-10^9 limbs. */
  otpc_buf_t work, limbs;
  otpc_buf_init(&work);
  otpc_buf_init(&limbs);
  int rc = otpc_buf_append(&work, mag, n);
  size_t len = n;
  while (rc == 0 && len > 0) {
    uint64_t rem = 0;
    for (size_t i = len; i-- > 0;) {
      uint64_t cur = rem << 8 | work.data[i];
      work.data[i] = (uint8_t)(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    while (len > 0 && work.data[len - 1] == 0)
      len--;
    uint32_t limb = (uint32_t)rem;
    rc = otpc_buf_append(&limbs, &limb, sizeof limb);
  }
  if (rc == 0 && neg)
    rc = otpc_buf_append(out, "-", 1);
  size_t count = limbs.len / sizeof(uint32_t);
  for (size_t i = count; rc == 0 && i-- > 0;) {
    uint32_t limb;
    memcpy(&limb, limbs.data + i * sizeof limb, sizeof limb);
    char digits[10];
    int k = 0;
    /* The most significant limb has no leading zeros, the others nine. */
    int width = i + 1 == count ? 0 : 9;
    do {
      digits[k++] = (char)('0' + limb % 10);
      limb /= 10;
    } while (limb != 0 || k < width);
    while (rc == 0 && k > 0)
      rc = otpc_buf_append(out, &digits[--k], 1);
  }
  otpc_buf_free(&work);
  otpc_buf_free(&limbs);
  return rc;
}
